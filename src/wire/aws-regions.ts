import { readFileSync } from 'node:fs'

/**
 * The Region names AWS has, in its commercial (`aws`), China (`aws-cn`) and GovCloud
 * (`aws-us-gov`) partitions, from model/aws-regions.json (copied from the partition table the
 * AWS SDKs resolve endpoints with). A credential scope naming any other Region is refused as
 * AWS's front end refuses it, unless the principals file's `regions` lists it.
 */
interface RegionsFile {
  readonly partitions: Readonly<Record<string, readonly string[]>>
}

// Read at start-up from the repository's model/ (dist/src/wire/ → ../../../model/), as the
// rest of the fact tables: one JSON file to update when AWS opens a Region.
const file = JSON.parse(
  readFileSync(new URL('../../../model/aws-regions.json', import.meta.url), 'utf8'),
) as RegionsFile

/**
 * Every Region name of AWS's commercial, China and GovCloud partitions, sorted.
 *
 * @example
 *   AWS_REGION_NAMES.includes('us-east-1') // true
 */
export const AWS_REGION_NAMES: readonly string[] = Object.freeze(
  Object.values(file.partitions).flat().sort(),
)
