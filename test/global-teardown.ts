import './setup/resolve-ts.cjs'; // must stay first: lets Jest's CommonJS loader find ./x.ts for './x.js'
import { stopSuiteServices } from './setup/services.js';

export default async function globalTeardown(): Promise<void> {
  await stopSuiteServices();
}
