import type { ListOptions, ListPage, ObjectInfo } from '../../contract/index.js';
import { InvalidArgumentError } from '../../errors/index.js';

/** One row of the legacy list API: a file, or a folder (id null) one level below the prefix. */
export interface ListEntry {
  name: string;
  id: string | null;
  updated_at: string | null;
  metadata: { size?: number; mimetype?: string; eTag?: string; cacheControl?: string } | null;
}

/** Lists one folder level: `POST /object/list/{bucket}` {prefix, search, limit, offset}. */
export type ListFolder = (folder: string, search: string, offset: number, limit: number) => Promise<ListEntry[]>;

interface Frame {
  /** Folder path, empty or ending with `/`. */
  folder: string;
  /** Name prefix inside the folder (only the first frame has one). */
  search: string;
  /** Entries of this folder already consumed. */
  offset: number;
}

interface CursorState {
  frames: Frame[];
  /** The last key returned. */
  last?: string;
}

/**
 * The order the API lists in: `lower(name) COLLATE "C"`, i.e. case-folded names compared as
 * UTF-8 bytes. A depth-first walk of folders therefore yields keys in this order.
 */
export function compareListed(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a.toLowerCase(), 'utf8'), Buffer.from(b.toLowerCase(), 'utf8'));
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorState {
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorState;
    if (!Array.isArray(state.frames)) throw new Error('no frames');
    return state;
  } catch (error) {
    throw new InvalidArgumentError('Invalid list cursor', { cause: error });
  }
}

/**
 * Lists keys under a raw prefix over Supabase's folder-based, offset-paginated list API.
 *
 * The API lists one folder level at a time (folders as entries), so keys are found by a
 * depth-first walk; the cursor keeps the stack of folders with the offset reached in each and
 * the last key returned. Keys added while a listing is under way shift later offsets forward,
 * never back, so resuming at a saved offset skips nothing; the entries that shifted into view
 * again sort at or before the last key returned and are dropped, so nothing repeats. (Deletions
 * can shift entries back past a saved offset: a key may then be missed, never repeated.)
 */
export async function listByPrefix(options: ListOptions, listFolder: ListFolder, toInfo: (key: string, entry: ListEntry) => ObjectInfo): Promise<ListPage> {
  const prefix = options.prefix ?? '';
  const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
  const slash = prefix.lastIndexOf('/');
  const state: CursorState = options.cursor
    ? decodeCursor(options.cursor)
    : { frames: [{ folder: prefix.slice(0, slash + 1), search: prefix.slice(slash + 1), offset: 0 }] };
  const items: ObjectInfo[] = [];

  while (items.length < limit && state.frames.length > 0) {
    const frame = state.frames[state.frames.length - 1];
    const isRoot = state.frames.length === 1;
    const entries = await listFolder(frame.folder, frame.search, frame.offset, limit);
    if (entries.length === 0) {
      state.frames.pop();
      continue;
    }
    let stopped = false;
    for (const entry of entries) {
      frame.offset++;
      const path = frame.folder + entry.name;
      // The API matches case-insensitively; the first level can at least keep the exact prefix.
      if (isRoot && !path.startsWith(prefix)) continue;
      if (entry.id === null) {
        const folder = `${path}/`;
        const done = state.last !== undefined && compareListed(folder, state.last) < 0 && !state.last.toLowerCase().startsWith(folder.toLowerCase());
        if (done) continue;
        state.frames.push({ folder, search: '', offset: 0 });
        stopped = true; // depth first: the folder's keys come before this folder's next entries
        break;
      }
      if (state.last !== undefined && compareListed(path, state.last) <= 0) continue; // shifted back into view
      items.push(toInfo(path, entry));
      state.last = path;
      if (items.length === limit) {
        stopped = true;
        break;
      }
    }
    // A short page that was read to its end is the folder's last: no need to ask again.
    if (!stopped && entries.length < limit) state.frames.splice(state.frames.indexOf(frame), 1);
  }
  return { items, cursor: state.frames.length > 0 ? encodeCursor(state) : undefined };
}
