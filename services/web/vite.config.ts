import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

/** A digest of everything the build reads: it names the service worker's cache, so each
 * release changes sw.js, and the browser installs it and precaches the new files. */
function buildId(): string {
  const hash = createHash("sha256");
  for (const root of ["src", "public", "index.html", "package-lock.json"]) {
    const files = root.includes(".") ? [root] : readdirSync(root, { recursive: true, encoding: "utf8" }).map((name) => join(root, name));
    for (const file of files.sort()) {
      try {
        hash.update(file).update(readFileSync(file));
      } catch {
        // a directory
      }
    }
  }
  return hash.digest("hex").slice(0, 12);
}

/** The shell's stylesheet goes inline into index.html, so the first paint waits for no
 * second request; the file stays in the bundle for the service worker's list. */
function inlineEntryCss(): Plugin {
  return {
    name: "gridcase-inline-entry-css",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(html, context) {
        return html.replace(/<link rel="stylesheet"[^>]*href="\/(assets\/[^"]+\.css)"[^>]*>/g, (tag, file: string) => {
          const asset = context.bundle?.[file];
          return asset?.type === "asset" ? `<style>${String(asset.source)}</style>` : tag;
        });
      },
    },
  };
}

/** Each text file also as .gz at the highest level, for nginx's gzip_static. */
function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "gridcase-precompress",
    apply: "build",
    configResolved(resolved) {
      outDir = resolved.build.outDir;
    },
    writeBundle(_options, bundle) {
      for (const file of Object.keys(bundle).filter((name) => /\.(js|css|html|svg|json)$/.test(name))) {
        const path = join(outDir, file);
        writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
      }
    },
  };
}

// The app's own pages come from index.html; the service worker is built beside them as
// /sw.js (a fixed name, so the browser can find it again after each release).
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  define: { BUILD_ID: JSON.stringify(buildId()) },
  plugins: [inlineEntryCss(), precompress()],
  build: {
    target: "es2022",
    manifest: true,
    rollupOptions: {
      input: { index: "index.html", sw: "src/sw.ts" },
      output: {
        entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js"),
      },
    },
  },
});
