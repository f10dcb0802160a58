import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The console is served by `keyward serve` at /console/ (src/wire/console-route.ts) under a
// Content-Security-Policy without 'unsafe-inline': everything must be a file of this origin.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No data: URLs for scripts or styles, and no inline module-preload helper.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2000,
  },
})
