/** Builds drp's CLI bundle once before the suites start, so their many `drp` processes do not each rebuild it. */
module.exports = async () => {
  await require("../bin/cli-bundle.cjs").drp.prepare();
};
