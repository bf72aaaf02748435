import { Transform, Type } from 'class-transformer';
import { booleanish, integerish } from './coerce.js';
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
  ValidateNested,
} from 'class-validator';
import { ResilienceDto } from '../resilience/resilience.options.js';
import { IsSize } from './size.js';

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
  @Transform(booleanish) @IsOptional() @IsBoolean() enabled?: boolean;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) tempFileTtlHours?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) cleanupIntervalHours?: number;
  @IsOptional() @IsString() @IsNotEmpty() cron?: string;
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) maxCleanupBatchSize?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) pendingTimeoutMinutes?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) orphanGraceHours?: number;
  @IsOptional() @IsIn(['auto', 'advisory', 'lease', 'redis', 'none']) lock?: 'auto' | 'advisory' | 'lease' | 'redis' | 'none';
  @IsOptional() @IsString() redisUrl?: string;
  @Transform(integerish) @IsOptional() @IsInt() @Min(10) lockTtlSeconds?: number;
}

export class SignedUrlsDto {
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) expiresInSeconds?: number;
}

export class RetryDto {
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) maxAttempts?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) initialDelayMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) maxDelayMs?: number;
}

export class ContentValidationDto {
  @Transform(booleanish) @IsOptional() @IsBoolean() sniff?: boolean;
  @Transform(booleanish) @IsOptional() @IsBoolean() blockExecutables?: boolean;
  @Transform(booleanish) @IsOptional() @IsBoolean() utf8Text?: boolean;
  @Transform(booleanish) @IsOptional() @IsBoolean() json?: boolean;
  @Transform(booleanish) @IsOptional() @IsBoolean() safetensors?: boolean;
  @IsOptional() @IsSize() maxSafetensorsHeader?: number | string;
  @Transform(booleanish) @IsOptional() @IsBoolean() allowPickle?: boolean;
}

export class ProviderDefinitionDto {
  @IsString() @IsNotEmpty() type!: string;
  @IsOptional() @IsObject() config?: Record<string, unknown>;
  @Transform(booleanish) @IsOptional() @IsBoolean() optional?: boolean;
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
  @Transform(booleanish) @IsOptional() @IsBoolean() verifyOnRead?: boolean;
  @IsOptional() @ValidateNested() @Type(() => ResilienceDto) resilience?: ResilienceDto;
  @IsOptional() @ValidateNested() @Type(() => ContentValidationDto) contentValidation?: ContentValidationDto;
}
