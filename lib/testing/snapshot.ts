/** A synthesised template, or something that gives one (`Template` of `aws-cdk-lib/assertions`). */
export type TemplateSource = Record<string, unknown> | { toJSON(): Record<string, unknown> };

/** Options of {@link normalizeTemplate}. */
export interface NormalizeTemplateOptions {
  /** Replace 12-digit account ids (in ARNs, bucket names, ...) with `[ACCOUNT]`, for apps whose account comes from the environment. @default false */
  readonly maskAccountIds?: boolean;
  /** Keep the `CDKMetadata` resource and condition (library versions and construct analytics). @default false */
  readonly keepCdkMetadata?: boolean;
}

/** SHA-256 content hashes: asset hashes, S3 object keys of assets, bundled-code hashes, migration hashes. */
const CONTENT_HASH = /[0-9a-f]{64}/g;
/** `lambda.Function.currentVersion` logical ids end in an MD5 of the function's code and configuration. */
const CURRENT_VERSION_ID = /(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g;
const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/g;

/**
 * A copy of a CloudFormation template without what changes when nothing you care about changed,
 * so a Jest snapshot of a stack fails only for a real change:
 *
 * - asset hashes and the S3 keys derived from them (`[HASH]`): they change with every edit of
 *   bundled function code or of a deployed folder, which your snapshot should not track;
 * - the hash suffix of Lambda `CurrentVersion…` logical ids (`CurrentVersionXXXXXXXX[HASH]`), in
 *   keys and in references alike;
 * - the CDK bootstrap version parameter and its check rule, which depend on the CDK version;
 * - the `CDKMetadata` resource (library versions), unless `keepCdkMetadata`;
 * - account ids, with `maskAccountIds`.
 *
 * ```ts
 * import { Template } from 'aws-cdk-lib/assertions';
 * import { normalizeTemplate } from 'cache-pyramid';
 *
 * expect(normalizeTemplate(Template.fromStack(stack))).toMatchSnapshot();
 * ```
 */
export function normalizeTemplate(source: TemplateSource, options: NormalizeTemplateOptions = {}): Record<string, unknown> {
  const template = structuredClone(typeof source.toJSON === 'function' ? (source as { toJSON(): Record<string, unknown> }).toJSON() : source) as Record<string, unknown>;
  dropBootstrapVersion(template);
  if (!options.keepCdkMetadata) dropCdkMetadata(template);
  return mask(template, options) as Record<string, unknown>;
}

function mask(value: unknown, options: NormalizeTemplateOptions): unknown {
  if (typeof value === 'string') return maskString(value, options);
  if (Array.isArray(value)) return value.map((item) => mask(item, options));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [maskString(key, options), mask(item, options)]));
  }
  return value;
}

function maskString(text: string, options: NormalizeTemplateOptions): string {
  const masked = text.replace(CONTENT_HASH, '[HASH]').replace(CURRENT_VERSION_ID, '$1[HASH]');
  return options.maskAccountIds ? masked.replace(ACCOUNT_ID, '[ACCOUNT]') : masked;
}

function dropBootstrapVersion(template: Record<string, unknown>): void {
  const parameters = template.Parameters as Record<string, unknown> | undefined;
  if (parameters) {
    delete parameters.BootstrapVersion;
    if (Object.keys(parameters).length === 0) delete template.Parameters;
  }
  const rules = template.Rules as Record<string, unknown> | undefined;
  if (rules) {
    delete rules.CheckBootstrapVersion;
    if (Object.keys(rules).length === 0) delete template.Rules;
  }
}

function dropCdkMetadata(template: Record<string, unknown>): void {
  const resources = template.Resources as Record<string, unknown> | undefined;
  if (resources) delete resources.CDKMetadata;
  const conditions = template.Conditions as Record<string, unknown> | undefined;
  if (conditions) {
    delete conditions.CDKMetadataAvailable;
    if (Object.keys(conditions).length === 0) delete template.Conditions;
  }
}
