// Notes each start in STARTS_FILE; exits with code 1 for the first CRASHES starts, then stays up.
const fs = require('fs');
fs.appendFileSync(process.env.STARTS_FILE, `${Date.now()}\n`);
if (fs.readFileSync(process.env.STARTS_FILE, 'utf8').trim().split('\n').length <= Number(process.env.CRASHES)) process.exit(1);
setInterval(() => {}, 1000);
