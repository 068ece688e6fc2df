// The volunteer's outbox: reports made without a network wait in IndexedDB, with their
// photos and their Idempotency-Key, and are sent when the network returns. The key makes
// a report that is sent twice (a retry after a lost answer) one case with its photos.
import { ApiError, post } from "./api";
import { signal } from "./signal";

export interface Draft {
  category: string;
  severity: string;
  description: string;
  location: { lat: number; lon: number; district?: string; community?: string; address?: string };
}

export interface Queued {
  key: string;
  draft: Draft;
  photos: Blob[];
  createdAt: number;
  error: string | null;
}

const DB = "gridcase";
const STORE = "outbox";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact<T>(
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => {
      db.close();
      resolve(request.result);
    };
    tx.onerror = () => reject(tx.error);
  });
}

export const waiting = signal<Queued[]>([]);

async function refresh(): Promise<void> {
  const all = await transact("readonly", (store) => store.getAll() as IDBRequest<Queued[]>);
  waiting.set(all.sort((a, b) => a.createdAt - b.createdAt));
}

export async function enqueue(draft: Draft, photos: Blob[]): Promise<Queued> {
  const item: Queued = { key: crypto.randomUUID(), draft, photos, createdAt: Date.now(), error: null };
  await transact("readwrite", (store) => store.put(item));
  await refresh();
  return item;
}

export async function update(item: Queued): Promise<void> {
  await transact("readwrite", (store) => store.put(item));
  await refresh();
}

export async function remove(key: string): Promise<void> {
  await transact("readwrite", (store) => store.delete(key));
  await refresh();
}

interface Accepted {
  case_id: string;
}

/** Sends one queued report; it leaves the queue only once the server has answered. */
export async function send(item: Queued): Promise<Accepted> {
  const form = new FormData();
  form.append("report", JSON.stringify(item.draft));
  item.photos.forEach((photo, index) => form.append("photos", photo, `photo-${index + 1}.jpg`));
  const accepted = await post<Accepted>("intake", "/v1/reports", form, { "Idempotency-Key": item.key });
  await remove(item.key);
  return accepted;
}

let flushing = false;

/** Sends every waiting report, oldest first; stops at the first network failure. */
export async function flush(): Promise<string[]> {
  if (flushing) return [];
  flushing = true;
  const sent: string[] = [];
  try {
    await refresh();
    for (const item of waiting.get().filter((queued) => !queued.error)) {
      try {
        sent.push((await send(item)).case_id);
      } catch (error) {
        if (!(error instanceof ApiError)) break; // no network: try again later
        if (error.status === 409 || error.status === 429 || error.status >= 500) break;
        await update({ ...item, error: error.message }); // refused: the volunteer must edit it
      }
    }
  } finally {
    flushing = false;
  }
  return sent;
}

export function startOutbox(): void {
  void refresh().then(() => (navigator.onLine ? flush() : undefined));
  window.addEventListener("online", () => void flush());
  setInterval(() => navigator.onLine && void flush(), 15_000);
}
