import fs from 'node:fs';
import path from 'node:path';

function asset(name: string, type: string): { readonly type: string; readonly body: string } {
  return { type, body: fs.readFileSync(path.join(__dirname, 'assets', name), 'utf8') };
}

/** The console's one script and one stylesheet, read once from this folder (no build step). */
export const CONSOLE_ASSETS = {
  'console.js': asset('console.js', 'text/javascript; charset=utf-8'),
  'console.css': asset('console.css', 'text/css; charset=utf-8'),
} as const;
