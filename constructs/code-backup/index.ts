/**
 * CodeBackupRole: what lets the workflow on main (.github/workflows/code-backup.yml) put the plan's own code
 * into the DR bucket, and nothing else: GitHub's OIDC provider, and a role only that repository's branch may
 * assume, allowed to write objects under code/ (no delete, no overwrite of Object Lock: the bucket's default
 * retention applies to every version) and to use the bucket key for that.
 */
import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { validName } from "../names";

/** GitHub Actions' OIDC issuer. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

export interface CodeBackupRoleProps {
  readonly name: string;
  /** owner/name of the repository whose workflow may assume the role. */
  readonly githubRepository: string;
  readonly branch: string;
  readonly bucketArn: string;
  readonly bucketKeyArn: string;
  /** Key prefix the role may write under, ending in /. */
  readonly prefix: string;
}

export class CodeBackupRole extends Construct {
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: CodeBackupRoleProps) {
    super(scope, id);
    const oidc = new IamOpenidConnectProvider(this, "github-oidc", { url: `https://${GITHUB_OIDC_HOST}`, clientIdList: ["sts.amazonaws.com"] });
    this.role = new IamRole(this, "role", {
      name: validName(this, "iamRole", `${props.name}-code-backup`, "project"),
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: oidc.arn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
              StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com", [`${GITHUB_OIDC_HOST}:sub`]: `repo:${props.githubRepository}:ref:refs/heads/${props.branch}` },
            },
          },
        ],
      }),
      inlinePolicy: [
        {
          name: "least-privilege",
          policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Sid: "WriteCodeBundles", Effect: "Allow", Action: "s3:PutObject", Resource: `${props.bucketArn}/${props.prefix}*` },
              { Sid: "EncryptWithBucketKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Encrypt"], Resource: props.bucketKeyArn },
            ],
          }),
        },
      ],
    });
  }
}
