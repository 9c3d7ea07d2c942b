// Part of the build: the dashboard's static files (src/http/ui/static) are not TypeScript, so tsc
// does not emit them; copy them next to the compiled router that serves them.
import { cpSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
cpSync(path.join(root, 'src', 'http', 'ui', 'static'), path.join(root, 'dist', 'http', 'ui', 'static'), {
  recursive: true
});
