import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { ResilienceDto } from '../resilience/resilience.options.js';
import { parseSize } from './size.js';

function IsSize(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSize',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'number' || typeof value === 'string') && parseSize(value) !== undefined,
        defaultMessage: () => 'must be a size such as 104857600, "100MB" or "2GB"',
      },
    },
    options,
  );
}

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/i;

export class RoutingConditionDto {
  @IsOptional() @IsString() @IsNotEmpty() artifactType?: string;
  @IsOptional() @IsSize() sizeGt?: number | string;
  @IsOptional() @IsString() @Matches(CONTENT_TYPE, { message: 'must be a content type such as video/mp4 or video/*' })
  contentType?: string;
}

export class RoutingRuleDto {
  @IsOptional() @ValidateNested() @Type(() => RoutingConditionDto) condition?: RoutingConditionDto;
  @IsString() @IsNotEmpty() provider!: string;
}

export class CleanupDto {
  @IsOptional() @IsBoolean() enabled?: boolean;
  @IsOptional() @IsInt() @Min(0) tempFileTtlHours?: number;
  @IsOptional() @IsInt() @Min(1) cleanupIntervalHours?: number;
  @IsOptional() @IsString() @IsNotEmpty() cron?: string;
  @IsOptional() @IsInt() @Min(1) maxCleanupBatchSize?: number;
  @IsOptional() @IsInt() @Min(1) pendingTimeoutMinutes?: number;
  @IsOptional() @IsInt() @Min(0) orphanGraceHours?: number;
  @IsOptional() @IsIn(['auto', 'advisory', 'lease', 'redis', 'none']) lock?: 'auto' | 'advisory' | 'lease' | 'redis' | 'none';
  @IsOptional() @IsString() redisUrl?: string;
  @IsOptional() @IsInt() @Min(10) lockTtlSeconds?: number;
}

export class SignedUrlsDto {
  @IsOptional() @IsInt() @Min(1) expiresInSeconds?: number;
}

export class RetryDto {
  @IsOptional() @IsInt() @Min(1) maxAttempts?: number;
  @IsOptional() @IsInt() @Min(0) initialDelayMs?: number;
  @IsOptional() @IsInt() @Min(0) maxDelayMs?: number;
}

export class ContentValidationDto {
  @IsOptional() @IsBoolean() sniff?: boolean;
  @IsOptional() @IsBoolean() blockExecutables?: boolean;
  @IsOptional() @IsBoolean() utf8Text?: boolean;
  @IsOptional() @IsBoolean() json?: boolean;
  @IsOptional() @IsBoolean() safetensors?: boolean;
  @IsOptional() @IsSize() maxSafetensorsHeader?: number | string;
  @IsOptional() @IsBoolean() allowPickle?: boolean;
}

export class ProviderDefinitionDto {
  @IsString() @IsNotEmpty() type!: string;
  @IsOptional() @IsObject() config?: Record<string, unknown>;
  @IsOptional() @IsBoolean() optional?: boolean;
  @IsOptional() @IsArray() @IsString({ each: true }) fallbacks?: string[];
  @IsOptional() @ValidateNested() @Type(() => ResilienceDto) resilience?: ResilienceDto;
}

export class StorageOptionsDto {
  @IsString() @IsNotEmpty() defaultProvider!: string;
  @IsObject() providers!: Record<string, unknown>;
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => RoutingRuleDto) routingRules?: RoutingRuleDto[];
  @IsOptional() @IsSize() maxFileSize?: number | string;
  @IsOptional() @IsObject() maxFileSizeByType?: Record<string, number | string>;
  @IsOptional() @IsArray() @Matches(CONTENT_TYPE, { each: true, message: 'each value must be a content type such as image/png or image/*' })
  allowedContentTypes?: string[];
  @IsOptional() @ValidateNested() @Type(() => CleanupDto) cleanup?: CleanupDto;
  @IsOptional() @ValidateNested() @Type(() => SignedUrlsDto) signedUrls?: SignedUrlsDto;
  @IsOptional() @ValidateNested() @Type(() => RetryDto) retry?: RetryDto;
  @IsOptional() @IsBoolean() verifyOnRead?: boolean;
  @IsOptional() @ValidateNested() @Type(() => ResilienceDto) resilience?: ResilienceDto;
  @IsOptional() @ValidateNested() @Type(() => ContentValidationDto) contentValidation?: ContentValidationDto;
}
