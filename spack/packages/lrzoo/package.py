# UNTESTED. Spack is not installed where this recipe was written, so it has never been
# concretized, built or installed by Spack; it is checked only to be valid Python
# (python3 -m py_compile). Its dependencies follow scripts/install-deps and what
# CMakeLists.txt and cmake/lrzoo_deps.cmake look for. It installs what lrzoo's CMake install
# rules install (issue 24), and is written for Spack v0.23: its repository layout (repo.yaml
# next to packages/) and its language virtual `c`; see spack/README.md.

from spack.package import *


class Lrzoo(CMakePackage):
    """Sweeps of gradient descent at large learning rates (matrix factorization, quadratics,
    multiscale objectives, a small network), run as one MPI x OpenMP batch job that writes one
    parallel HDF5 file, and lrzoo-report, which draws the figures of such files."""

    # The repository has no published address yet. A site sets git to its own copy (a local
    # clone works: git = "file:///opt/src/lrzoo"), or builds a checkout in place with
    # `spack develop` (spack/README.md).
    version("main", branch="main")

    variant(
        "native",
        default=False,
        description="Compile for the build host's CPU (-march=native, LRZOO_NATIVE); off, the "
        "binary runs on every node of the spec's target, which Spack already compiles for",
    )

    # src/core links glibc's libmvec, the vector cos and sin that the sampler calls directly.
    conflicts("platform=darwin", msg="lrzoo needs glibc's libmvec")
    conflicts("platform=windows", msg="lrzoo needs glibc's libmvec")

    depends_on("c", type="build")
    depends_on("cmake@3.20:", type="build")
    depends_on("pkgconfig", type="build")  # libyaml is found through pkg-config

    # OpenMP comes with the compiler (gcc's libgomp here). Open MPI is the tested MPI: a run
    # without a launcher sets Open MPI's singleton switches, and the tests' scripts/mpirun
    # passes Open MPI's options, so an other MPI builds but runs those tests badly.
    depends_on("mpi")
    # Parallel HDF5, with the high-level library (dimension scales, H5DS) that
    # src/CMakeLists.txt links. The io module calls H5Oget_info_by_name2 with an H5O_info_t,
    # which is that call's struct only under the 1.10 API: 1.10 is what lrzoo is tested with.
    depends_on("hdf5@1.10.3:1.10+mpi+hl")
    depends_on("libyaml")
    # cmake/lrzoo_deps.cmake prefers OpenBLAS and needs cblas.h. lrzoo puts OpenBLAS in
    # single-threaded mode itself (its rounding must not depend on a thread count); another
    # BLAS must be a single-threaded build for the results to stay reproducible.
    depends_on("blas")
    depends_on("random123")  # header-only: Random123/philox.h
    depends_on("openssl")  # OpenSSL::Crypto, the job file's SHA-256

    # Only the tests (spack install --test=root) use CMocka; they also run Python scripts with
    # /usr/bin/python3 and its h5py, which tests/CMakeLists.txt looks for by that path.
    depends_on("cmocka", type="test")

    # lrzoo-report (analysis/report.py): h5py, NumPy and Matplotlib 3.5 or later (set_xticks
    # with labels), at run time only.
    depends_on("python@3.7:", type="run")
    depends_on("py-h5py", type="run")
    depends_on("py-numpy", type="run")
    depends_on("py-matplotlib@3.5:", type="run")

    def cmake_args(self):
        spec = self.spec
        return [
            self.define_from_variant("LRZOO_NATIVE", "native"),
            self.define("LRZOO_BUILD_TESTS", self.run_tests),
            self.define("LRZOO_SANITIZE", False),
            # The dependencies of this spec, not whatever the build host has under /usr.
            self.define("MPI_C_COMPILER", spec["mpi"].mpicc),
            self.define("HDF5_ROOT", spec["hdf5"].prefix),
            self.define("OPENSSL_ROOT_DIR", spec["openssl"].prefix),
            # lrzoo-report runs this spec's Python, which has h5py, numpy and matplotlib.
            self.define("LRZOO_REPORT_PYTHON", spec["python"].command.path),
        ]
