package io.dubhub.job;

import java.util.Map;

/**
 * An output the provider keeps and serves itself (alugha hosts the video and its language
 * tracks): what it is, the provider's id for it, where it lives and what the provider says about
 * it. Recorded in the manifest, never downloaded.
 */
public record HostedOutput(String language, String type, String providerRef, String url, Map<String, String> details) {
}
