// A CONNECT proxy in its own process (the same small proxy the tests use), printing its port and
// stopping when stdin closes.
import { startConnectProxy } from '../../test/support/connect-proxy.js';

const proxy = await startConnectProxy();
process.stdout.write(`${proxy.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => void proxy.close().then(() => process.exit(0)));
