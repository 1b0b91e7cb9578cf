// Benchmark target: the ATOM-GOV MCP gateway (libs/mcp) with the real audit store (SQLite, group commit),
// upstream server-everything over stdio per session. Prints its URL on stdout. Run after `npm run build`.
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { McpGateway } from '@atom-gov/mcp';
import { openAuditStore } from '@atom-gov/audit';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const audit = await openAuditStore({
  sqlitePath: join(mkdtempSync(join(tmpdir(), 'atom-gov-bench-')), 'audit.sqlite'),
});
const gateway = new McpGateway({
  servers: [
    {
      name: 'everything',
      transport: 'stdio',
      command: process.execPath,
      args: [everything, 'stdio'],
      env: {},
      headers: {},
      share: false,
    },
  ],
  maxUpstreamsPerServer: 256,
  onOperation: (r) => audit.append({ ...r, configVersion: 'bench' }),
});
const identity = { tenant: 'bench', user: 'bench', roles: [] };
const http = createServer((req, res) => void gateway.handle('everything', req, res, { identity }));
http.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${http.address().port}/mcp/everything\n`));
process.on('SIGTERM', async () => {
  await gateway.close();
  await audit.close();
  process.exit(0);
});
