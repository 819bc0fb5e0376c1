// Entry for the 'reload' phase: the workbench reloaded on the folder the main suite used.
import * as path from 'path';
import { runFolder } from '../index';

export function run(): Promise<void> {
  return runFolder(path.join(__dirname));
}
