// Run before anything else by `npm start` and `npm test` (its `pretest`): an older Node.js would
// fail later with "No such built-in module: node:sqlite", which does not say what to do.
// Plain JavaScript with no imports, so that any Node.js can run it. dist/cli.js checks the same.
const NEEDED = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < NEEDED) {
  process.stderr.write(
    `mcp-gateway: Node.js ${NEEDED} or newer is needed; this is Node.js ${process.versions.node} (${process.execPath}). ` +
      `Install Node.js ${NEEDED} and put it first on the PATH.\n`
  );
  process.exit(1);
}
