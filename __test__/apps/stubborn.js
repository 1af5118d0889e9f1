// Ignores SIGINT (so only SIGKILL stops it) and starts a grandchild that does the same.
const { spawn } = require('child_process');
process.on('SIGINT', () => {});
if (!process.env.IS_GRANDCHILD) {
  const child = spawn(process.execPath, [__filename], { env: { ...process.env, IS_GRANDCHILD: '1' }, stdio: 'ignore' });
  require('fs').writeFileSync(process.env.CHILD_PID_FILE, String(child.pid));
}
setInterval(() => {}, 1000);
