// Starts the real services the suite shares (random ports) and publishes their addresses through
// environment variables, which Jest's workers inherit. Each service lives in test/setup/.
import { startSuiteServices } from './setup/services.js';

export default async function globalSetup(): Promise<void> {
  await startSuiteServices();
}
