/**
 * Network: a VPC with two public subnets (internet gateway, no NAT: Fargate tasks get public IPs and
 * security groups admit only what they must, which keeps a pilot-light region cheap) and, optionally,
 * two private subnets for data stores that never talk to the internet.
 */
import { Construct } from "constructs";
import { Fn } from "cdktf";
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";

export interface NetworkProps {
  readonly name: string;
  readonly region: string;
  /** A /16 to /24 block; subnets are carved as /(n+8)... of it. */
  readonly cidr: string;
  /** Add two private subnets. @default false */
  readonly privateSubnets?: boolean;
}

const SUBNETS_PER_KIND = 2;

export class Network extends Construct {
  readonly vpc: Vpc;
  readonly publicSubnetIds: string[];
  readonly privateSubnetIds: string[];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { region, name, cidr } = props;
    const prefix = Number(cidr.split("/")[1]);
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) || prefix < 16 || prefix > 24)
      throw new Error(`${this.node.path}: cidr "${cidr}" must be an IPv4 block from /16 to /24`);
    const newBits = Math.min(8, 28 - prefix);

    const azs = new DataAwsAvailabilityZones(this, "azs", { region, state: "available" });
    this.vpc = new Vpc(this, "vpc", { region, cidrBlock: cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } });
    const igw = new InternetGateway(this, "igw", { region, vpcId: this.vpc.id });
    const routes = new RouteTable(this, "public-routes", { region, vpcId: this.vpc.id, route: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }] });
    const subnet = (kind: "public" | "private", i: number) =>
      new Subnet(this, `${kind}-${i}`, {
        region,
        vpcId: this.vpc.id,
        availabilityZone: Fn.element(azs.names, i),
        cidrBlock: Fn.cidrsubnet(cidr, newBits, kind === "public" ? i : SUBNETS_PER_KIND + i),
        tags: { Name: `${name}-${kind}-${i}` },
      });
    this.publicSubnetIds = [];
    this.privateSubnetIds = [];
    for (let i = 0; i < SUBNETS_PER_KIND; i++) {
      const s = subnet("public", i);
      new RouteTableAssociation(this, `public-${i}-routes`, { region, subnetId: s.id, routeTableId: routes.id });
      this.publicSubnetIds.push(s.id);
      if (props.privateSubnets) this.privateSubnetIds.push(subnet("private", i).id);
    }
  }
}
