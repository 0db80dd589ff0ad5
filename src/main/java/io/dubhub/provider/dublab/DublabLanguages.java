package io.dubhub.provider.dublab;

import io.dubhub.intake.Languages;

import java.util.List;
import java.util.Optional;

/**
 * BCP-47 to dublab's language codes. dublab takes plain ISO 639-1 codes (tr, de, es) plus a few
 * regional variants; a region we do not know maps to its base language only when dublab has no
 * variant list for it (es-MX → es), so nothing is silently dubbed into the wrong variant.
 */
final class DublabLanguages {

    static final List<String> SUPPORTED = List.of("en", "es", "fr", "de", "it", "pt", "pt-BR", "nl", "pl", "tr", "ru", "uk",
            "ar", "hi", "ja", "ko", "zh", "id", "sv", "da", "fi", "no", "cs", "ro", "hu", "el", "he", "th", "vi");

    private DublabLanguages() {
    }

    static Optional<String> toDublab(String bcp47) {
        for (String s : SUPPORTED) {
            if (s.equalsIgnoreCase(bcp47)) {
                return Optional.of(s);
            }
        }
        String primary = Languages.primary(bcp47);
        boolean hasVariants = SUPPORTED.stream().anyMatch(s -> s.startsWith(primary + "-"));
        if (!hasVariants && SUPPORTED.contains(primary)) {
            return Optional.of(primary);
        }
        // "nb" (Norwegian Bokmål) is what most tools write for Norwegian; dublab calls it "no".
        if (primary.equals("nb")) {
            return Optional.of("no");
        }
        return Optional.empty();
    }
}
