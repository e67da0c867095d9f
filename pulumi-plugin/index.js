// The plugin package's entry: the engine runs it through the Node.js language host with its address
// as the argument. The components and the provider come from the parent package's compiled lib/.
'use strict';
require('../lib/pulumi/plugin/host').serve(__dirname);
