package io.dubhub.provider.alugha;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The alugha adapter's pure rules: language codes, status reading, ownership and redaction. */
class AlughaRulesTest {

    final ObjectMapper json = new ObjectMapper();

    @Test
    void bcp47TagsBecomeTheDocumentedLangCodes() {
        // the doc's own examples: German deu, American English eng-us, Latin American Spanish spa-419
        assertThat(AlughaLanguages.toAlugha("de")).contains("deu");
        assertThat(AlughaLanguages.toAlugha("en-US")).contains("eng-us");
        assertThat(AlughaLanguages.toAlugha("es-419")).contains("spa-419");
        assertThat(AlughaLanguages.toAlugha("pt-BR")).contains("por-br");
    }

    @Test
    void languagesWithoutALangCodeFormAreRefusedNotGuessed() {
        assertThat(AlughaLanguages.toAlugha("zh-Hans")).isEmpty();
        assertThat(AlughaLanguages.toAlugha("yo")).isEmpty();
        assertThat(AlughaLanguages.toAlugha("")).isEmpty();
        assertThat(AlughaLanguages.toAlugha("not a tag")).isEmpty();
    }

    @Test
    void tracksAreMatchedToTheLanguagesAJobAskedFor() {
        assertThat(AlughaLanguages.sameLanguage("es", "spa-419")).isTrue();
        assertThat(AlughaLanguages.sameLanguage("es-419", "spa")).isFalse();
        assertThat(AlughaLanguages.sameLanguage("en-US", "ENG-US")).isTrue();
        assertThat(AlughaLanguages.sameLanguage("de", "deu")).isTrue();
        assertThat(AlughaLanguages.sameLanguage("de", "dan")).isFalse();
        assertThat(AlughaLanguages.toBcp47("eng-us")).isEqualTo("en-US");
        assertThat(AlughaLanguages.toBcp47("spa-419")).isEqualTo("es-419");
        assertThat(AlughaLanguages.toBcp47("kli")).isEqualTo("kli");
    }

    @Test
    void theUndocumentedStatusFieldIsReadTolerantly() throws Exception {
        assertThat(AlughaProvider.stateOf(json.readTree("{\"status\":\"ready\"}"))).isEqualTo(AlughaProvider.VideoState.READY);
        assertThat(AlughaProvider.stateOf(json.readTree("{\"state\":\"ENCODING_STARTED\"}"))).isEqualTo(AlughaProvider.VideoState.ENCODING);
        assertThat(AlughaProvider.stateOf(json.readTree("{\"status\":\"downloaded\"}"))).isEqualTo(AlughaProvider.VideoState.DOWNLOADED);
        assertThat(AlughaProvider.stateOf(json.readTree("{\"processingStatus\":{\"name\":\"download_failed\"}}")))
                .isEqualTo(AlughaProvider.VideoState.FAILED);
        assertThat(AlughaProvider.stateOf(json.readTree("{\"playable\":true}"))).isEqualTo(AlughaProvider.VideoState.READY);
        assertThat(AlughaProvider.stateOf(json.readTree("{\"status\":\"frobnicating\"}"))).isEqualTo(AlughaProvider.VideoState.UNKNOWN);
        assertThat(AlughaProvider.stateOf(json.readTree("{}"))).isEqualTo(AlughaProvider.VideoState.UNKNOWN);
    }

    @Test
    void aVideoIsOursOnlyWhenItCarriesTheJobId() throws Exception {
        assertThat(AlughaProvider.carriesJobId(json.readTree("{\"defaultTrack\":{\"title\":\"Talk [j-1]\"}}"), "j-1")).isTrue();
        assertThat(AlughaProvider.carriesJobId(json.readTree("{\"title\":\"x\",\"description\":\"(dubhub job j-2)\"}"), "j-2")).isTrue();
        assertThat(AlughaProvider.carriesJobId(json.readTree("{\"defaultTrack\":{\"title\":\"Talk [j-1]\"}}"), "j-9")).isFalse();
    }

    @Test
    void urlsEchoedInAlughasErrorsLoseTheirTokens() {
        String said = "invalid statusWebhook: https://hub.example/webhooks/alugha/j-1?token=s3cr3t and downloadFromUrl "
                + "https://hub.example/staged/abc.def";
        assertThat(AlughaProvider.redactUrls(said)).doesNotContain("s3cr3t").doesNotContain("abc.def")
                .contains("https://hub.example/webhooks/alugha/j-1?token=REDACTED");
    }
}
