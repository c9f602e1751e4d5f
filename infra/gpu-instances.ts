/**
 * Which GPU instances the GPU queue may launch. Batch's ECS_AL2023_NVIDIA AMI must drive them, they need
 * a one-GPU size, and cuDNN 8.1 (what libtensorflow 2.9.1 loads) must support their GPU. The compute
 * environments name instance types, not families: given a family, Batch may pick any size of it (g4dn:
 * xlarge to 16xlarge, one GPU each), overpaying and using more of the G quota than a job needs.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** x86-64 NVIDIA classes the image runs on (g4ad has AMD GPUs; g5g is Arm, the image amd64). */
export const NVIDIA_GPU_CLASSES: readonly string[] = [
  ec2.InstanceClass.G4DN, ec2.InstanceClass.G5, ec2.InstanceClass.G6, ec2.InstanceClass.G6E,
];

const SUPPORTED = `supported: ${NVIDIA_GPU_CLASSES.join(', ')}`;

/** NVIDIA classes that are refused, with the one-line reason a user reads at synth. */
export const REFUSED_GPU_CLASSES: Readonly<Record<string, string>> = {
  [ec2.InstanceClass.P2]: `p2 (K80) is not supported by the ECS_AL2023_NVIDIA AMI the GPU compute environments use (${SUPPORTED})`,
  [ec2.InstanceClass.P3]: `p3 (V100) is not supported by the ECS_AL2023_NVIDIA AMI the GPU compute environments use (${SUPPORTED})`,
  [ec2.InstanceClass.G3]: `g3 (M60) is not supported by the ECS_AL2023_NVIDIA AMI the GPU compute environments use (${SUPPORTED})`,
  [ec2.InstanceClass.G3S]: `g3s (M60) is not supported by the ECS_AL2023_NVIDIA AMI the GPU compute environments use (${SUPPORTED})`,
  [ec2.InstanceClass.P3DN]: `p3dn has only an 8-GPU size (p3dn.24xlarge), a job uses one GPU, and ECS_AL2023_NVIDIA does not support it (${SUPPORTED})`,
  [ec2.InstanceClass.P4D]: `p4d has only an 8-GPU size; a job uses one GPU (${SUPPORTED})`,
  [ec2.InstanceClass.P4DE]: `p4de has only an 8-GPU size; a job uses one GPU (${SUPPORTED})`,
  [ec2.InstanceClass.P5]: `p5 (H100, sm_90) is 8-GPU and newer than cuDNN 8.1 supports (${SUPPORTED})`,
  [ec2.InstanceClass.P5E]: `p5e (H200, sm_90) is 8-GPU and newer than cuDNN 8.1 supports (${SUPPORTED})`,
  [ec2.InstanceClass.P5EN]: `p5en (H200, sm_90) is 8-GPU and newer than cuDNN 8.1 supports (${SUPPORTED})`,
  [ec2.InstanceClass.G7E]: `g7e (Blackwell, sm_120) is newer than CUDA 11.2 and cuDNN 8.1 support (${SUPPORTED})`,
};

/** libtensorflow 2.9.1 carries kernels compiled for sm_35…75 and compute_80 PTX: a T4 runs them as they are. */
export const DEFAULT_INSTANCE_CLASSES = [ec2.InstanceClass.G4DN];
/** GPUs newer than sm_75 (A10G 8.6, L4 and L40S 8.9) JIT-compile the PTX, minutes per new container. */
export const JIT_COMPILING_CLASSES: readonly string[] = [ec2.InstanceClass.G5, ec2.InstanceClass.G6, ec2.InstanceClass.G6E];

/** The size the defaults pin each class to: the smallest, one GPU. */
export const DEFAULT_INSTANCE_SIZE = ec2.InstanceSize.XLARGE;
/** vCPUs and memory of each supported class's xlarge (one GPU each), to check that the job definition fits it. */
export const XLARGE_SPECS: Readonly<Record<string, { readonly vcpus: number; readonly memoryGiB: number }>> = {
  [ec2.InstanceClass.G4DN]: { vcpus: 4, memoryGiB: 16 },
  [ec2.InstanceClass.G5]: { vcpus: 4, memoryGiB: 16 },
  [ec2.InstanceClass.G6]: { vcpus: 4, memoryGiB: 16 },
  [ec2.InstanceClass.G6E]: { vcpus: 4, memoryGiB: 32 },
};
/** What the ECS agent and the OS keep of an instance's memory; a job can reserve the rest. */
export const HOST_RESERVED_MIB = 2048;

/** `g4dn.xlarge` for each class. */
export function defaultInstanceTypes(classes: readonly ec2.InstanceClass[]): ec2.InstanceType[] {
  return classes.map((name) => ec2.InstanceType.of(name, DEFAULT_INSTANCE_SIZE));
}

/** Why an instance class cannot be used, or null. */
export function classProblem(name: string): string | null {
  if (REFUSED_GPU_CLASSES[name] !== undefined) return REFUSED_GPU_CLASSES[name]!;
  if (!NVIDIA_GPU_CLASSES.includes(name)) return `${name} is not an x86 NVIDIA GPU class (${SUPPORTED})`;
  return null;
}

/** Why an instance type (`g5.2xlarge`) cannot be used, or null. Its size is Batch's to check against the job. */
export function instanceTypeProblem(name: string): string | null {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)$/.exec(name);
  if (!match) return `${JSON.stringify(name)} is not an instance type such as g4dn.xlarge`;
  const [, family, size] = match;
  const problem = classProblem(family!);
  if (problem) return problem;
  if (!(Object.values(ec2.InstanceSize) as string[]).includes(size!)) return `${name}: ${size} is not an EC2 instance size`;
  return null;
}

/** The family of an instance type: `g4dn` of `g4dn.xlarge`. */
export function familyOf(type: ec2.InstanceType): string {
  return type.toString().split('.')[0]!;
}
