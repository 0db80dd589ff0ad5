package io.dubhub.routes;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The offline check ops run in CI: no hub, no keys; exit code and messages with file:line. */
class ValidateRoutesCommandTest {

    @TempDir
    Path dir;

    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) {
        return ValidateRoutesCommand.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    Path file(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    @Test
    void theShippedRoutesFilesAreValid() {
        assertThat(run("config/routes")).as(err()).isEqualTo(0);
        assertThat(out()).contains("inbox.yaml: ok, routes [inbox-dublab, inbox-speechlab, inbox-perso, inbox-alugha, inbox-vugola]")
                .contains("1 file(s), 0 error(s)");
    }

    @Test
    void everyKindOfMistakeIsAnErrorWithItsLine() throws IOException {
        Path bad = file("bad.yaml", """
                - templatedRoute:
                    routeTemplateRef: watch-folder
                    routeId: a
                    parameters:
                      - name: provider
                        value: nosuch
                      - name: targetLangs
                        value: es
                - templatedRoute:
                    routeTemplateRef: watch-folders
                    routeId: b
                - templatedRoute:
                    routeTemplateRef: watch-bucket
                    routeId: a
                    parameters:
                      - {name: provider, value: dublab}
                - route:
                    from: {uri: "timer:x"}
                """);
        assertThat(run(bad.toString())).isEqualTo(1);
        assertThat(err()).contains(bad + ":5: error: unknown provider 'nosuch'; known providers: alugha, dublab, perso, speechlab, vugola")
                .contains(bad + ":7: error: unknown parameter 'targetLangs' for template watch-folder")
                .contains(bad + ":10: error: unknown template 'watch-folders'; known templates: watch-bucket, watch-folder")
                .contains(bad + ":12: error: routeId 'a' is already used on line 1 of this file")
                .contains(bad + ":13: error: template watch-bucket needs parameter 'bucket'")
                .contains(bad + ":17: error: expected '- templatedRoute:' but found 'route'")
                // the folder defaults to nothing: a missing required parameter
                .contains(bad + ":2: error: template watch-folder needs parameter 'folder'");
        assertThat(out()).contains("1 file(s), 7 error(s)");
    }

    @Test
    void brokenYamlIsReportedWithItsLine() throws IOException {
        Path bad = file("syntax.yaml", "- templatedRoute:\n    routeId: a\n   oops: [\n");
        assertThat(run(bad.toString())).isEqualTo(1);
        assertThat(err()).contains(bad + ":3: error: not valid YAML");
    }

    @Test
    void routeIdsMustBeUniqueAcrossFiles() throws IOException {
        String route = """
                - templatedRoute:
                    routeTemplateRef: watch-folder
                    routeId: same
                    parameters:
                      - {name: provider, value: dublab}
                      - {name: folder, value: "{{hub.data-dir}}/inbox/x"}
                """;
        file("a.yaml", route);
        Path b = file("b.yaml", route);
        assertThat(run(dir.toString())).isEqualTo(1);
        assertThat(err()).contains(b + ":1: error: routeId 'same' is already used by " + dir.resolve("a.yaml"));
    }

    @Test
    void whatNeedsTheHubIsAWarningOrSkipped() throws IOException {
        Path f = file("warn.yaml", """
                - templatedRoute:
                    routeTemplateRef: watch-bucket
                    routeId: from-bucket
                    parameters:
                      - {name: bucket, value: "{{my.bucket}}"}
                      - {name: provider, value: perso}
                """);
        assertThat(run(f.toString())).as(err()).isEqualTo(0);
        assertThat(out()).contains(f + ":5: warning: parameter 'bucket': placeholder {{my.bucket}} is not set here (not checked offline)")
                .contains("ok, routes [from-bucket]")
                .contains("1 file(s), 0 error(s), 1 warning(s) (offline: provider keys and buckets not checked)");
    }

    @Test
    void wrongUsageIsExitCode2() {
        assertThat(run()).isEqualTo(2);
        assertThat(err()).contains("usage:");
        assertThat(run("no/such/file.yaml")).isEqualTo(2);
        assertThat(err()).contains("no/such/file.yaml: no such file or folder");
    }
}
