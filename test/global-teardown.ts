import { stopSuiteServices } from './setup/services.js';

export default async function globalTeardown(): Promise<void> {
  await stopSuiteServices();
}
