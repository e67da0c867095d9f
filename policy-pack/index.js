// The cleanimg policy pack, loaded by the Pulumi CLI:
//   pulumi preview --policy-pack <this directory>
// Plain CommonJS on purpose (the CLI loads it without a TypeScript step). It uses the compiled rule
// list of the enclosing package (`npm run build` first) and resolves @pulumi/policy from the
// enclosing package's node_modules, so this directory needs no install of its own.
'use strict';
const { PolicyPack } = require('@pulumi/policy');
const { POLICY_PACK_NAME, policyPackArgs } = require('../lib/pulumi/policy.js');

new PolicyPack(POLICY_PACK_NAME, policyPackArgs(process.env.CLEANIMG_POLICY_ENFORCEMENT || 'mandatory'));
