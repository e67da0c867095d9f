export { parseDockerfile, copyPaths, expand, type ParsedDockerfile, type DfStage, type DfInstruction, type DfHeredoc } from './parse';
export { DOCKERFILE_RULES, finalChain, unpinnedReason, type DockerfileRule, type DockerfileFinding, type DockerfileCheckOptions } from './rules';
export { checkDockerfile, checkDockerfileFile, checkParsed, assertDockerfileOk, isDockerfileName, type DockerfileViolation } from './check';
export { dockerignoreMatcher, secretFileNameReason, secretDestinationReason } from './secrets';
export { generateDockerfile, type GenerateDockerfileOptions, type GeneratedDockerfile, type GeneratedFile, type GeneratorLang } from './generate';
export { readBuiltImage, repositoryOf, pinnedRef, type BuiltImage } from './lockfile';
