package io.dubhub.provider.perso;

import io.dubhub.intake.Languages;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * BCP-47 to Perso's language codes. The doc's Language API (GET /video-translator/api/v1/languages)
 * shows plain ISO 639-1 codes only (en, ko, ja) and no full list, so this table is an assumption:
 * Perso's published dubbing languages as ISO 639-1 codes, regions dropped (es-MX → es), except
 * Chinese, which we only send as "zh" for zh / zh-CN / zh-Hans (Traditional is refused rather than
 * silently dubbed into Simplified). Keep it in step with GET /languages when a real key is at hand.
 */
final class PersoLanguages {

    static final List<String> SUPPORTED = List.of("en", "ko", "ja", "zh", "es", "fr", "de", "it", "pt", "ru", "ar", "hi",
            "id", "vi", "th", "tr", "pl", "nl", "sv", "da", "fi", "no", "cs", "ro", "hu", "el", "uk", "ms", "fil", "he",
            "bg", "hr", "sk", "ta");

    /** Tags that name a variant Perso does not make: refused instead of mapped to the base language. */
    private static final List<String> REFUSED = List.of("zh-tw", "zh-hk", "zh-hant", "zh-hant-tw");

    private static final Map<String, String> ALIASES = Map.of("nb", "no", "nn", "no", "tl", "fil", "iw", "he", "in", "id");

    private PersoLanguages() {
    }

    static Optional<String> toPerso(String bcp47) {
        if (bcp47 == null) {
            return Optional.empty();
        }
        String lower = bcp47.toLowerCase(Locale.ROOT);
        if (REFUSED.contains(lower)) {
            return Optional.empty();
        }
        String primary = Languages.primary(bcp47).toLowerCase(Locale.ROOT);
        primary = ALIASES.getOrDefault(primary, primary);
        return SUPPORTED.contains(primary) ? Optional.of(primary) : Optional.empty();
    }
}
