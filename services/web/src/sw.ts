// The service worker: the app shell and all its assets are cached at install (from Vite's
// manifest), so the app opens with no network and, on every later visit, without waiting
// for it: the shell and its settings come from the cache and are fetched again in the
// background for the next visit. API reads go to the network, falling back to the last answer for the lists
// a volunteer needs offline (categories, boundaries). Each build names its own cache, so a
// release installs afresh and the old cache goes.
declare const BUILD_ID: string;

const worker = globalThis as unknown as ServiceWorkerGlobalScope;

const CACHE = `gridcase-shell-${BUILD_ID}`;
const SHELL = "/";
const CACHED_API = ["/api/intake/v1/categories", "/api/intake/v1/boundaries"];

async function shellFiles(): Promise<string[]> {
  const manifest = (await (await fetch("/.vite/manifest.json", { cache: "no-cache" })).json()) as Record<
    string,
    { file: string; css?: string[]; assets?: string[] }
  >;
  const files = Object.values(manifest).flatMap((entry) => [entry.file, ...(entry.css ?? []), ...(entry.assets ?? [])]);
  return [SHELL, "/config.json", "/manifest.webmanifest", ...new Set(files.filter((file) => file !== "sw.js").map((file) => `/${file}`))];
}

worker.addEventListener("install", (event: ExtendableEvent) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(await shellFiles());
      await Promise.allSettled(CACHED_API.map((path) => cache.add(path)));
      await worker.skipWaiting();
    })(),
  );
});

worker.addEventListener("activate", (event: ExtendableEvent) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await worker.clients.claim();
    })(),
  );
});

async function networkFirst(request: Request, key: Request | string = request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}

/** The cached copy at once, refreshed from the network for the next visit. */
async function cachedThenRefreshed(event: FetchEvent, path: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path);
  const fresh = fetch(path).then(async (response) => {
    if (response.ok) await cache.put(path, response.clone());
    return response;
  });
  if (!cached) return fresh;
  event.waitUntil(fresh.catch(() => undefined));
  return cached;
}

worker.addEventListener("fetch", (event: FetchEvent) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== worker.location.origin) return;
  if (request.mode === "navigate" && !url.pathname.startsWith("/api/")) {
    event.respondWith(cachedThenRefreshed(event, SHELL));
  } else if (url.pathname === "/config.json") {
    event.respondWith(cachedThenRefreshed(event, url.pathname));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(caches.match(request).then((cached) => cached ?? networkFirst(request)));
  } else if (CACHED_API.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});
