import { Stack, StackProps, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { EdgeWebAcl } from './cdn/edge-web-acl';

/** Props for {@link EdgeSecurityStack}. */
export interface EdgeSecurityStackProps extends StackProps {
  /** Prefix of resource names (the stage's main stack name). */
  readonly namePrefix: string;
  /** Host names of a certificate to create, validated by DNS in `hostedZone`. @default - no certificate */
  readonly domainNames?: string[];
  /** The public zone holding `domainNames` (id and name; nothing is looked up). @default - none */
  readonly hostedZone?: route53.HostedZoneAttributes;
  /** Create a WAF web ACL for the distribution. @default false */
  readonly webAcl?: boolean;
  /** Largest request body the web ACL lets through (the API's limit). @default 16384 */
  readonly maxRequestBodyBytes?: number;
}

/**
 * The us-east-1 half of the edge that must exist before the distribution: its viewer certificate
 * and its WAF web ACL (CloudFront reads both only from us-east-1). The main stack, in any region,
 * takes them through cross-region references (`crossRegionReferences: true` on both stacks).
 */
export class EdgeSecurityStack extends Stack {
  /** The viewer certificate, when `domainNames` were given. */
  readonly certificate?: acm.ICertificate;
  /** ARN of the web ACL, when `webAcl` is true. */
  readonly webAclArn?: string;

  constructor(scope: Construct, id: string, props: EdgeSecurityStackProps) {
    super(scope, id, { crossRegionReferences: true, ...props });
    if (Token.isUnresolved(this.region) || this.region !== 'us-east-1') {
      throw new Error(`EdgeSecurityStack: CloudFront reads certificates and web ACLs only from us-east-1; set env.region to us-east-1, got ${this.region}`);
    }
    const domainNames = props.domainNames ?? [];
    if ((domainNames.length > 0) !== (props.hostedZone !== undefined)) {
      throw new Error('EdgeSecurityStack: `domainNames` and `hostedZone` go together (the certificate is validated by DNS in that zone)');
    }
    if (domainNames.length === 0 && !props.webAcl) {
      throw new Error('EdgeSecurityStack: nothing to create; pass `domainNames` with `hostedZone`, or `webAcl: true`');
    }
    if (props.hostedZone !== undefined) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', props.hostedZone);
      this.certificate = new acm.Certificate(this, 'Certificate', {
        domainName: domainNames[0],
        subjectAlternativeNames: domainNames.slice(1),
        validation: acm.CertificateValidation.fromDns(zone),
      });
    }
    if (props.webAcl) {
      this.webAclArn = new EdgeWebAcl(this, 'WebAcl', { namePrefix: props.namePrefix, maxRequestBodyBytes: props.maxRequestBodyBytes }).webAclArn;
    }
  }
}
