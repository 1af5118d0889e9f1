// Exits with EXIT_CODE after noting the start.
require('fs').appendFileSync(process.env.STARTS_FILE, `${Date.now()}\n`);
process.exit(Number(process.env.EXIT_CODE));
