package io.thetacal.bench;

import io.thetacal.model.Gemm;

/** Prints the BLAS implementation the engines use, for the benchmark report's machine line. */
public final class MachineInfo {
  private MachineInfo() {
  }

  public static void main(String[] args) {
    System.out.println("BLAS " + Gemm.implementation());
  }
}
