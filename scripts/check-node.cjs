// Run before every npm script that needs Node 24 (the .ts CLIs rely on Node's
// type stripping, the server on Node 24's globals). Plain CommonJS on purpose:
// it must itself run on any old Node to say what is wrong.
var major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    'ECU FHIR needs Node.js 24 or newer, but this is Node ' + process.versions.node + ' (' + process.execPath + '). ' +
      'Install Node 24 (for example `nvm install 24 && nvm use 24`; see "Node 24: how to get it" in the README), then run the command again.'
  );
  process.exit(1);
}
