/** The entry point of the CLI's bundle (scripts/bundle-cli.mjs): runs the program on process.argv. */
import { runAsProcess } from './main';

runAsProcess();
