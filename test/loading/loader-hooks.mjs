// Module hooks for the SDK-loading tests (run on Node's loader thread). They:
// - record every resolved specifier and URL to a file, so the test can see what was loaded;
// - make the listed packages unresolvable, as if they were not installed;
// - run the library's TypeScript sources directly (transpiled per file, as Vitest does), so the
//   child needs no build step. `@app/storage` maps to libs/storage/src/index.ts.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let state;
let ts;

export async function initialize(data) {
  state = data;
}

function notInstalled(specifier, parentURL) {
  const error = new Error(`Cannot find package '${specifier}' imported from ${parentURL}`);
  error.code = 'ERR_MODULE_NOT_FOUND';
  return error;
}

export async function resolve(specifier, context, next) {
  if (specifier === '@app/storage') specifier = pathToFileURL(state.libraryIndex).href;
  if (state.block.some((name) => specifier === name || specifier.startsWith(`${name}/`))) {
    appendFileSync(state.record, `blocked\t${specifier}\n`);
    throw notInstalled(specifier, context.parentURL);
  }
  let result;
  try {
    result = await next(specifier, context);
  } catch (error) {
    // ESM sources import siblings as `./x.js`; in the source tree that file is `./x.ts`.
    if (!(specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts'))) throw error;
    result = await next(`${specifier.slice(0, -3)}.ts`, context);
  }
  appendFileSync(state.record, `${specifier}\t${result.url}\n`);
  return result;
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const fileName = fileURLToPath(url);
  const text = readFileSync(fileName, 'utf8');
  // Children of one test run share transpiled files (keyed by path and content).
  const cached = state.cache && join(state.cache, `${createHash('sha1').update(fileName).update(text).digest('hex')}.js`);
  if (cached) {
    try {
      return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
    } catch {
      // not transpiled yet
    }
  }
  ts ??= (await import('typescript')).default;
  const { outputText } = ts.transpileModule(text, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  if (cached) {
    mkdirSync(state.cache, { recursive: true });
    writeFileSync(cached, outputText);
  }
  return { format: 'module', source: outputText, shortCircuit: true };
}
