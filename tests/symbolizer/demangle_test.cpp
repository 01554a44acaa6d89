#include "prof/symbolizer/demangle.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <sstream>

#include "sym_test_util.h"
#include "test_support.h"

namespace prof::symbolizer {
namespace {

TEST(Demangle, CxxWithoutParamsAsPerfPrints) {
  EXPECT_EQ(demangle("_ZN2fx11AccumulatorIlE3addEl"), "fx::Accumulator<long>::add");
  EXPECT_EQ(demangle("_ZN2fx9run_twiceIlEEvRNS_11AccumulatorIT_EES2_"), "fx::run_twice<long>");
  EXPECT_EQ(demangle("_ZZ4mainENKUllE_clEl"), "main::{lambda(long)#1}::operator()");
  EXPECT_EQ(demangle("_ZStlsISt11char_traitsIcEERSt13basic_ostreamIcT_ES5_PKc"),
            "std::operator<< <std::char_traits<char> >");
  EXPECT_EQ(demangle("_ZThn8_N1B1fEv"), "non-virtual thunk to B::f()");
}

// Names perf 6.1 prints for tests/fixtures/sym_cxx_real.cpp (read off `perf script` on this
// machine): GCC clones named after their function, operators followed by template arguments,
// lambdas inside functions with parameters, std::function internals, ABI tags, PLT slots.
// Fails on e91aebd: clones kept return type, parameters and `[clone .constprop.0]`
// ("unsigned long (anonymous namespace)::sort_phase<…>(unsigned long*, …) [clone .constprop.0]"),
// `operator<=><char, …>` lost all but its last template argument ("> (inlined)"), and
// `_Znwm@plt` stayed mangled.
TEST(Demangle, ClonesOperatorsAndLambdasAsPerfPrints) {
  EXPECT_EQ(demangle("_ZN12_GLOBAL__N_110sort_phaseISt7greaterImEEEmPmS3_T_.constprop.0"),
            "(anonymous namespace)::sort_phase<std::greater<unsigned long> >");
  EXPECT_EQ(demangle("_ZZ12lambda_phaseiENKUlT_E0_clIdEEDaS_.constprop.0"),
            "lambda_phase(int)::{lambda(auto:1)#2}::operator()<double>");
  EXPECT_EQ(demangle("_ZN12_GLOBAL__N_1ltERKNS_4Vec2ES2_.isra.0"),
            "(anonymous namespace)::operator<");
  EXPECT_EQ(demangle("_ZN12_GLOBAL__N_1L9isra_workERKNS_6ParamsE.constprop.0.isra.0"),
            "(anonymous namespace)::isra_work");
  EXPECT_EQ(demangle("_Z10make_labelB5cxx11i.cold"), "make_label[abi:cxx11]");
  EXPECT_EQ(demangle("_Z10make_labelB5cxx11i"), "make_label[abi:cxx11]");
  EXPECT_EQ(
      demangle("_ZNSt17_Function_handlerIFmiEZ12lambda_phaseiEUliE1_E9_M_invokeERKSt9_Any_dataOi"),
      "std::_Function_handler<unsigned long (int), lambda_phase(int)::{lambda(int)#3}>::_M_invoke");
  EXPECT_EQ(demangle("_ZNK6shapes6MatrixIdEmlERKS1_"), "shapes::Matrix<double>::operator*");
  EXPECT_EQ(demangle("_ZStssIcSt11char_traitsIcESaIcEEDaRKNSt7__cxx1112basic_stringIT_T0_T1_EESA_"),
            "std::operator<=><char, std::char_traits<char>, std::allocator<char> >");
  EXPECT_EQ(demangle("_ZN9__gnu_cxx5__ops15_Iter_comp_iterISt7greaterImEEclIPmS6_EEbT_T0_"),
            "__gnu_cxx::__ops::_Iter_comp_iter<std::greater<unsigned long> >::operator()<unsigned "
            "long*, unsigned long*>");
  EXPECT_EQ(demangle("_Znwm@plt"), "operator new@plt");
  EXPECT_EQ(demangle("_ZdlPvm@plt"), "operator delete@plt");
  // Local names inside const member functions; return types that are decltype expressions
  // with comparisons in them, or wrap the name (a function returning a pointer to member).
  EXPECT_EQ(demangle("_ZZNK4prof10symbolizer10Symbolizer4Impl10SampleHashclEjENKUlmE_clEm"),
            "prof::symbolizer::Symbolizer::Impl::SampleHash::operator()(unsigned int) "
            "const::{lambda(unsigned long)#1}::operator()");
  EXPECT_EQ(demangle("_ZNKSt4lessIvEclIRiS2_EEDTltcl7forwardIT_Efp_Ecl7forwardIT0_Efp0_EEOS3_OS4_"),
            "std::less<void>::operator()<int&, int&>");
  EXPECT_EQ(demangle("_ZSt12__get_helperILm1EPDoFvPvEJEERT0_RSt11_Tuple_implIXT_EJS3_DpT1_EE"),
            "std::__get_helper<1ul, void (*)(void*) noexcept>");
}

// --full-signatures: c++filt's whole form, clone suffix included.
TEST(Demangle, FullSignatureKeepsReturnTypeParametersAndClone) {
  EXPECT_EQ(demangle("_ZN12_GLOBAL__N_110sort_phaseISt7greaterImEEEmPmS3_T_.constprop.0", true),
            "unsigned long (anonymous namespace)::sort_phase<std::greater<unsigned long> >"
            "(unsigned long*, unsigned long*, std::greater<unsigned long>) [clone .constprop.0]");
  EXPECT_EQ(demangle("_Znwm@plt", true), "operator new(unsigned long)@plt");
}

TEST(Demangle, CxxWithParams) {
  EXPECT_EQ(demangle("_ZN2fx11AccumulatorIlE3addEl", true), "fx::Accumulator<long>::add(long)");
  EXPECT_EQ(demangle("_ZZ4mainENKUllE_clEl", true),
            "main::{lambda(long)#1}::operator()(long) const");
}

TEST(Demangle, NotMangledIsUnchanged) {
  for (const char* s :
       {"main", "_start", "__libc_start_call_main", "_Z", "_Zfoo", "_R", "_Rx", "", "schedule+0x4"})
    EXPECT_EQ(demangle(s), s) << s;
}

TEST(Demangle, RustLegacyDropsHash) {
  EXPECT_EQ(demangle("_ZN4core3fmt5write17h0123456789abcdefE"), "core::fmt::write");
  EXPECT_EQ(demangle("_ZN5alloc3vec16Vec$LT$T$C$A$GT$4push17h0123456789abcdefE"),
            "alloc::vec::Vec<T,A>::push");
  // A C++ name that merely ends like one is left alone.
  EXPECT_EQ(demangle("_ZN3foo3barE"), "foo::bar");
}

TEST(Demangle, RustV0) {
  // Examples from RFC 2603 and rustc's v0 test suite.
  EXPECT_EQ(demangle("_RNvCs15kBYyAo9fc_7mycrate7example"), "mycrate::example");
  EXPECT_EQ(demangle("_RNvNtCs1234_7mycrate3foo3bar"), "mycrate::foo::bar");
  EXPECT_EQ(demangle("_RINvCs1234_7mycrate3fooNtB2_3BarE"), "mycrate::foo::<mycrate::Bar>");
  EXPECT_EQ(demangle("_RNCNvCs1234_7mycrate4main0"), "mycrate::main::{closure#0}");
  EXPECT_EQ(demangle("_RNvMCs1234_7mycrateNtB2_3Foo3new"), "<mycrate::Foo>::new");
  EXPECT_EQ(demangle("_RINvCs1234_1a1fAhj3_E"), "a::f::<[u8; 3]>");
  EXPECT_EQ(demangle_rust_v0("_RNvC"), "");
}

TEST(Demangle, GarbageNeverCrashes) {
  std::mt19937 rng(42);
  const std::string alphabet = "_RZNICBMXYKLsuvE0123456789abcdefghxyzT";
  for (int n = 0; n < 20000; ++n) {
    std::string s = n % 2 ? "_R" : "_Z";
    int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    (void)demangle(s);
    (void)demangle(s, true);
  }
  // Backreferences pointing forward or at themselves must not loop.
  EXPECT_EQ(demangle_rust_v0("_RB_"), "");
  EXPECT_EQ(demangle_rust_v0("_RNvB0_1a"), "");
}

// Peer: binutils' c++filt -p is libiberty's no-parameter form, which perf prints.
TEST(Demangle, AgreesWithCxxfiltOnFixtureAndLibstdcxx) {
  std::vector<std::string> names;
  for (const char* fx : {"fx_sym_cxx", "fx_sym_cxx_real_fp"})
    for (const auto& s : test::nm_functions(prof::test::fixture(fx)))
      if (s.name.rfind("_Z", 0) == 0) names.push_back(s.name);
  // Linkage names of the real C++ fixture's DWARF (inlined std:: templates, operators, lambdas):
  // what inline frames are named from.
  auto info =
      prof::test::run({"readelf", "--debug-dump=info", prof::test::fixture("fx_sym_cxx_real_fp")});
  std::istringstream dies(info.out);
  std::set<std::string> linkage;
  for (std::string line; std::getline(dies, line);)
    if (line.find("DW_AT_linkage_name") != std::string::npos)
      linkage.insert(line.substr(line.rfind(": ") + 2));
  EXPECT_GT(linkage.size(), 300u);
  names.insert(names.end(), linkage.begin(), linkage.end());
  auto dyn =
      prof::test::run({"nm", "-D", "--defined-only", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"});
  std::istringstream in(dyn.out);
  std::string line;
  while (std::getline(in, line) && names.size() < 5000) {
    auto sp = line.rfind(' ');
    std::string n = line.substr(sp + 1);
    if (n.rfind("_Z", 0) == 0 &&
        (line.find(" T ") != std::string::npos || line.find(" W ") != std::string::npos))
      names.push_back(n.substr(0, n.find('@')));
  }
  ASSERT_GT(names.size(), 100u);
  std::vector<std::string> argv{"c++filt", "-p"};
  argv.insert(argv.end(), names.begin(), names.end());
  auto r = prof::test::run(argv);
  std::istringstream out(r.out);
  std::size_t same = 0, total = 0;
  std::string diffs;
  for (const auto& n : names) {
    std::string expected;
    // c++filt demangles verbosely (Ss -> std::basic_string<char, ...>); perf, like the C++
    // runtime, prints the std::string/istream/ostream/iostream abbreviations.
    bool abbreviated = false;
    for (const char* abbr : {"Ss", "Si", "So", "Sd"})
      if (n.find(abbr) != std::string::npos) abbreviated = true;
    if (!std::getline(out, expected)) break;
    if (abbreviated) continue;
    ++total;
    if (demangle(n) == expected) ++same;
    else if (diffs.size() < 2000)
      diffs += n + ": ours '" + demangle(n) + "' c++filt '" + expected + "'\n";
  }
  EXPECT_GT(total, 1000u);
  EXPECT_GE(same * 1000, total * 995) << same << "/" << total << "\n" << diffs;
}

}  // namespace
}  // namespace prof::symbolizer
