package io.thetacal.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.stream.Collectors;

/** All gates' outcomes for one cell; the cell passes when every gate passes. */
public record Verdict(List<GateResult> gates) {
  public Verdict {
    gates = List.copyOf(gates);
  }

  @JsonProperty
  public boolean pass() {
    return gates.stream().allMatch(GateResult::pass);
  }

  /** The failing gates' reasons, or all reasons when everything passes. */
  @JsonProperty
  public String reason() {
    List<GateResult> shown = pass() ? gates
        : gates.stream().filter(g -> !g.pass()).collect(Collectors.toList());
    return shown.stream().map(GateResult::reason).collect(Collectors.joining("; "));
  }
}
