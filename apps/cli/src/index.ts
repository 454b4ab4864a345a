/** What other apps may use of the operator CLI (`@signoff/cli`): its commands, run in-process (specs). */
export { COMMANDS, runCli, type Io } from './cli.commands';
