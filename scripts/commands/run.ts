/** `mixup run`: the job's own command, as the container runs it (job/cli.ts); its flags come from the settings table. */
export { registerRunCommand as register } from '../../job/cli.js';
