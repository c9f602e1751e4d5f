/**
 * The launch template every GPU compute environment's instances start from.
 *
 * AWS Batch runs a job on EC2 in the host's network namespace (host network mode), so a container is no
 * network hop away from the instance: IMDSv2's hop limit does not keep it off the instance metadata
 * service, and through it the instance role (the ECS container-instance policy). What does: a packet
 * filter on the host that rejects the job user's traffic to 169.254.169.254. The job's own credentials
 * come from the ECS agent's endpoint (169.254.170.2), which the rule leaves alone; the agent and
 * Docker run as root, which it leaves alone too. The rule is installed by a systemd unit ordered before
 * Docker and the ECS agent, so it is in place before any job starts and again after a reboot; if it
 * cannot be installed, the ECS agent does not start and the instance never takes a job.
 *
 * The template also makes the host directory of the CUDA JIT cache, writable by the image's job user.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/** The instance metadata service's IPv4 address (its IPv6 endpoint stays off: `httpProtocolIpv6: false`). */
export const IMDS_ADDRESS = '169.254.169.254';
/** The systemd unit that installs the rule at every boot. */
export const IMDS_BLOCK_UNIT = 'mixup-block-imds.service';

export interface GpuHostsProps {
  /** The uid the job's container runs as (the image's `USER`, pinned by the job definition). */
  readonly jobUid: number;
  /** A host directory for the CUDA JIT cache, made writable by `jobUid`. */
  readonly cudaCacheDirectory: string;
}

/** The iptables rule, as arguments after `-C`/`-I OUTPUT`: the job user's packets to IMDS are refused at once (no hang until a timeout). */
export function imdsBlockRule(jobUid: number): string {
  return `-d ${IMDS_ADDRESS}/32 -m owner --uid-owner ${jobUid} -j REJECT`;
}

/** The systemd unit: idempotent (`-C` before `-I`), before Docker and ECS, required by ECS. */
export function imdsBlockUnit(jobUid: number): string {
  const rule = imdsBlockRule(jobUid);
  return [
    '[Unit]',
    'Description=mixup-batch: keep job containers (uid ' + jobUid + ') off the instance metadata service',
    'Before=docker.service ecs.service',
    'After=network-pre.target',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh -c 'iptables -w -C OUTPUT ${rule} 2>/dev/null || iptables -w -I OUTPUT 1 ${rule}'`,
    '[Install]',
    'WantedBy=multi-user.target',
    'RequiredBy=ecs.service',
    '',
  ].join('\n');
}

/** The shell part of the user data (Batch merges its own ECS part with it; it requires MIME multi-part). */
export function gpuHostScript(props: GpuHostsProps): string[] {
  return [
    'set -euo pipefail',
    `cat > /etc/systemd/system/${IMDS_BLOCK_UNIT} <<'UNIT'`,
    ...imdsBlockUnit(props.jobUid).trimEnd().split('\n'),
    'UNIT',
    'systemctl daemon-reload',
    // This first boot's ECS agent waits for the user data (it starts after cloud-final): if the rule
    // cannot be installed, it must not start at all.
    `if ! systemctl enable --now ${IMDS_BLOCK_UNIT}; then`,
    "  echo 'mixup-batch: could not keep job containers off instance metadata; the ECS agent stays stopped' >&2",
    '  systemctl mask --now ecs.service',
    '  exit 1',
    'fi',
    `install -d -m 0755 -o ${props.jobUid} -g ${props.jobUid} ${props.cudaCacheDirectory}`,
  ];
}

export function createGpuHostLaunchTemplate(scope: Construct, id: string, props: GpuHostsProps): ec2.LaunchTemplate {
  const userData = new ec2.MultipartUserData();
  const script = ec2.UserData.forLinux();
  script.addCommands(...gpuHostScript(props));
  userData.addUserDataPart(script, ec2.MultipartBody.SHELL_SCRIPT, true);
  return new ec2.LaunchTemplate(scope, id, {
    // IMDSv2 and a hop limit of 1 still matter for anything on the host in a bridge network; they do
    // not isolate Batch jobs, which use the host's network (the rule above does that).
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
    httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
    httpProtocolIpv6: false,
    userData,
  });
}
