// Starts the real services the suite shares (random ports) and publishes their addresses through
// environment variables, which Jest's workers inherit. Each service lives in test/setup/.
import './setup/resolve-ts.cjs'; // must stay first: lets Jest's CommonJS loader find ./x.ts for './x.js'
import { startSuiteServices } from './setup/services.js';

export default async function globalSetup(): Promise<void> {
  await startSuiteServices();
}
