/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const backend = process.env.ASSAY_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig(({ command }) => ({
  plugins: [react()],
  // Django (whitenoise) serves frontend/dist under /static/; index.html itself is served by the
  // `spa` view for every browser route, so built asset URLs are absolute under /static/.
  // The dev server serves the app at / (with history fallback) and proxies the backend.
  base: command === "build" ? "/static/" : "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": backend,
      "/accounts": backend,
      "/admin": backend,
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    css: false,
    restoreMocks: true,
    // jsdom + user-event tests of the full rubric are CPU-bound; leave room on a busy machine.
    testTimeout: 20_000,
  },
}));
