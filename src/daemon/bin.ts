import { dom0dMain } from './main.js';

process.exitCode = await dom0dMain(process.argv.slice(2));
