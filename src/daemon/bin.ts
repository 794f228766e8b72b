import { dom0dMain } from './main.js';

// Exit once dom0d has stopped: a handle left open (a QEMU's QMP socket) must not keep a stopped
// dom0d alive beside its successor.
process.exit(await dom0dMain(process.argv.slice(2)));
