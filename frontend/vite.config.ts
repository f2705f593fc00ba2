/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// In production a small server answers GET /config.json (deploy/frontend_server.py). The dev server
// (`./deploy.sh dev`, or `npm run dev`) answers it the same way from the same settings: API_PUBLIC_URL
// and STREAM_PUBLIC_URL (./deploy.sh resolves both from the ports), DEMO_CONTROLS=true shows the form's
// demo control, which the API must allow too.
function devRuntimeConfig(): Plugin {
  return {
    name: "dev-runtime-config",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use("/config.json", (_req, res) => {
        res.setHeader("Content-Type", "application/json");
        res.setHeader("Cache-Control", "no-store");
        res.end(
          JSON.stringify({
            apiBase: (process.env.API_PUBLIC_URL || "http://localhost:5000").replace(/\/$/, ""),
            streamBase: (process.env.STREAM_PUBLIC_URL || "http://localhost:5001").replace(/\/$/, ""),
            demoControls: ["1", "true", "yes", "on"].includes((process.env.DEMO_CONTROLS ?? "").trim().toLowerCase()),
          }),
        );
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), devRuntimeConfig()],
  // The API allows browser calls from port 3000 (CORS), so the dev server uses it too.
  server: { port: 3000 },
  preview: { port: 3000 },
  // No source maps: the production bundle ships no readable source, nor a comment pointing to one.
  build: { outDir: "dist", sourcemap: false },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/setupTests.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    // Times are shown in local time; pin the zone so that expected strings are stable.
    env: { TZ: "UTC" },
    restoreMocks: true,
  },
});
