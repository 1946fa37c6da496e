"""AWS service integrations for durable, over boto3: ``aws-sdk:<service>:<action>`` for any
service boto3 knows, the optimized integrations (SQS, SNS, DynamoDB, EventBridge, Lambda), the
``.sync`` jobs (Batch, Glue, ECS, Athena, SageMaker, CodeBuild) and Lambda function ARNs."""

from __future__ import annotations

from .integration import AwsIntegration

__all__ = ["AwsIntegration"]
