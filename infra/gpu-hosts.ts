/**
 * The launch template every GPU compute environment's instances start from: IMDSv2 only with a hop
 * limit of 1, so job containers (one network hop further) cannot reach instance metadata and borrow
 * the instance role; and a host directory for the CUDA JIT cache, writable by the image's job user.
 */
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

import { CUDA_CACHE, JOB_UID } from './props.js';

export function createGpuHostLaunchTemplate(scope: Construct, id: string): ec2.LaunchTemplate {
  // Batch requires MIME multi-part user data; it merges its own ECS part with this one.
  const userData = new ec2.MultipartUserData();
  const script = ec2.UserData.forLinux();
  script.addCommands(`install -d -m 0755 -o ${JOB_UID} -g ${JOB_UID} ${CUDA_CACHE.hostPath}`);
  userData.addUserDataPart(script, ec2.MultipartBody.SHELL_SCRIPT, true);
  return new ec2.LaunchTemplate(scope, id, {
    launchTemplateName: `${Stack.of(scope).stackName}-gpu-hosts`,
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
    httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
    userData,
  });
}
