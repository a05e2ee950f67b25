"""Synthetic English instructions for benchmarking the ROUGE-L near-duplicate filter.

Instructions are expanded from a hand-written grammar: about fifty task families (explain, rewrite, classify,
extract, compare, list ideas, write emails/poems/stories, math word problems, translation, code, SQL,
planning, advice, ...), each with several phrasings and large Zipf-weighted slot vocabularies. A controlled
share of the output are near-duplicates: an earlier instruction perturbed with synonym swaps, inserted or
deleted words, changed numbers or names, reordered clauses or surface edits. Everything is derived from the
seed, and ``generate_instructions(m, seed=s)`` is a prefix of ``generate_instructions(n, seed=s)`` for m < n.
Fresh instructions that would merely swap one or two slot values of an earlier instruction of the same template
are redrawn, so that near-duplicates come mostly from the controlled share.

Grammar syntax: ``{pool}`` draws from a pool, ``{pool#2}`` (``#3``...) draws a value not yet used for that pool in the
current instruction, ``{pool@}`` repeats the last value drawn from it, ``{3..12}`` is a random integer and
``[a|b|]`` picks one alternative uniformly (an empty alternative makes the group optional). Pool entries
are separated by ``;``.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from functools import cache

__all__ = ["generate_instructions", "rouge_l_f1"]


def _split_words(text: str) -> list[str]:
    return text.split()


def _stable_hash(text: str) -> int:
    """64-bit hash that does not depend on PYTHONHASHSEED (keeps the output a function of the seed)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


# ----------------------------------------------------------------------------------------------------------
# Vocabulary. Entries are roughly ordered from common to rare: pools are Zipf-weighted by position.
# ----------------------------------------------------------------------------------------------------------

_POOLS: dict[str, str] = {
    # --- people and places -------------------------------------------------------------------------------
    "name": """Alice; Ben; Maria; David; Priya; Carlos; Sarah; Tom; Mei; Omar; Emma; Lucas; Fatima; James;
        Sofia; Liam; Aisha; Noah; Olivia; Hiro; Chen; Ravi; Ananya; Diego; Mateo; Valentina; Kwame; Amara;
        Ivan; Olga; Lars; Ingrid; Pierre; Camille; Hans; Greta; Giulia; Marco; Ahmed; Layla; Anna; Michael;
        Laura; Daniel; Rachel; Kevin; Jessica; Samuel; Grace; Ethan; Chloe; Jacob; Zoe; Nathan; Hannah; Leo;
        Mia; Oscar; Ruby; Felix; Nora; Hugo; Ella; Isaac; Lily; Adam; Sara; Jonas; Elif; Mehmet; Tariq; Nadia;
        Sven; Freya; Pablo; Lucia; Andre; Beatriz; Thabo; Zanele; Kofi; Ama; Jin; Minh; Linh; Arjun; Deepa;
        Kenji; Akira; Paulo; Ines; Rosa; Victor; Elena; Dmitri; Katya; Jamal; Keisha; Tyler; Megan; Connor;
        Siobhan; Declan; Aoife; Rhys; Carys; Yasmin; Wei; Tomas; Bianca; Rafael; Esther; Gideon; Naomi""",
    "surname": """Smith; Garcia; Chen; Patel; Nguyen; Kim; Johnson; Rossi; Mueller; Kowalski; Silva; Okafor;
        Tanaka; Ivanova; Haddad; Lopez; Brown; Dubois; Andersen; Novak; Yilmaz; Mensah; Santos; Fischer;
        Ricci; Murphy; Kaur; Sato; Hernandez; Wright; Cohen; Nakamura; Osei; Petrov; Lindqvist; Moreau;
        Costa; Walker; Rahman; Schmidt; Taylor; Moretti; Jansen; Abebe; Park; Reyes; Horvat; OConnor""",
    "full_name": "{name} {surname}",
    "famous_person": """Marie Curie; Isaac Newton; Albert Einstein; Ada Lovelace; Nelson Mandela; Cleopatra;
        Leonardo da Vinci; Mahatma Gandhi; Frida Kahlo; Abraham Lincoln; Queen Elizabeth I; Genghis Khan;
        Galileo Galilei; Charles Darwin; Rosalind Franklin; Alan Turing; Martin Luther King Jr.;
        Harriet Tubman; Simon Bolivar; Napoleon Bonaparte; Julius Caesar; Confucius; Aristotle; Socrates;
        Hypatia; Ibn Battuta; Marco Polo; Zheng He; Catherine the Great; Joan of Arc; Florence Nightingale;
        Nikola Tesla; Thomas Edison; Grace Hopper; Katherine Johnson; Wangari Maathai; Rachel Carson;
        Jane Austen; William Shakespeare; Toni Morrison; Gabriel Garcia Marquez; Mansa Musa; Ashoka; Rumi;
        Sun Tzu; Hammurabi; Mary Wollstonecraft; Frederick Douglass; Winston Churchill; Eleanor Roosevelt;
        Otto von Bismarck; Adam Smith; John Maynard Keynes; Sigmund Freud; Louis Pasteur; Gregor Mendel;
        Dmitri Mendeleev; Johannes Gutenberg; Nicolaus Copernicus; Johannes Kepler; Emmy Noether;
        Srinivasa Ramanujan; Alexander von Humboldt; Amelia Earhart; Neil Armstrong; Yuri Gagarin;
        Valentina Tereshkova; Rosa Parks; Vincent van Gogh; Michelangelo; Murasaki Shikibu; Maya Angelou;
        Ernest Hemingway; Hatshepsut; Saladin; Tokugawa Ieyasu; Sacagawea; Alexander the Great""",
    "city": """Paris; Tokyo; New York; London; Barcelona; Rome; Berlin; Sydney; Cape Town; Mumbai; Mexico City;
        Istanbul; Lisbon; Seoul; Bangkok; Buenos Aires; Toronto; Amsterdam; Prague; Vienna; Kyoto; Singapore;
        Cairo; Marrakech; Nairobi; Lima; Rio de Janeiro; Chicago; San Francisco; Vancouver; Dublin; Edinburgh;
        Copenhagen; Stockholm; Oslo; Helsinki; Athens; Budapest; Krakow; Hanoi; Ho Chi Minh City; Jakarta;
        Manila; Kuala Lumpur; Delhi; Bangalore; Dubai; Tel Aviv; Beirut; Lagos; Accra; Addis Ababa; Santiago;
        Bogota; Havana; Montreal; Boston; Seattle; Austin; New Orleans; Melbourne; Auckland; Reykjavik;
        Florence; Venice; Munich; Zurich; Geneva; Brussels; Porto; Seville; Naples; Tbilisi; Almaty; Osaka;
        Shanghai; Beijing; Hong Kong; Taipei; Kathmandu; Colombo; Zanzibar; Cusco; Quebec City; Valparaiso""",
    "country": """Japan; Italy; Brazil; Canada; India; Mexico; France; Germany; Kenya; Australia; Spain; Peru;
        Vietnam; Egypt; Norway; Argentina; South Korea; Morocco; Portugal; Thailand; Iceland; New Zealand;
        Nigeria; Turkey; Greece; Indonesia; Chile; Colombia; Ireland; Poland; Sweden; Finland; Ghana;
        Ethiopia; the Philippines; Malaysia; South Africa; Switzerland; Austria; the Netherlands; Denmark;
        Croatia; Georgia; Nepal; Sri Lanka; Jordan; Tanzania; Cuba; Costa Rica; Uruguay; Mongolia; Bhutan;
        Estonia; Rwanda; Senegal; Scotland; Cambodia; Laos; Ecuador; Bolivia; Pakistan; Bangladesh; Oman;
        Qatar; Uzbekistan; Madagascar; Namibia; Botswana; Slovenia; Hungary; Romania; Ukraine; Belgium""",
    "landmark": """the Grand Canyon; Machu Picchu; the Great Barrier Reef; Angkor Wat; the Sahara Desert;
        Yellowstone National Park; the Amazon rainforest; Mount Kilimanjaro; the Scottish Highlands;
        the Norwegian fjords; Petra; the Galapagos Islands; the Alhambra; the Great Wall of China;
        the Taj Mahal; Banff National Park; the Dolomites; Patagonia; the Serengeti; Ha Long Bay;
        the Amalfi Coast; Cappadocia; the Atacama Desert; Lake Baikal; the Swiss Alps; Uluru; Bagan;
        the Okavango Delta; the Cliffs of Moher; Chichen Itza; Iguazu Falls; the Faroe Islands""",
    "destination": "{city}; {city}; {city}; {country}; {country}; {landmark}",
    "language": """Spanish; French; German; Italian; Portuguese; Japanese; Mandarin Chinese; Korean; Arabic;
        Hindi; Russian; Turkish; Dutch; Swedish; Polish; Greek; Vietnamese; Thai; Indonesian; Swahili; Hebrew;
        Bengali; Tagalog; Finnish; Norwegian; Czech; Ukrainian; Romanian; Hungarian; Persian; Urdu; Danish;
        Irish; Welsh; Catalan; Latin; Esperanto; Zulu; Malay; Icelandic""",
    "month": """January; February; March; April; May; June; July; August; September; October; November;
        December""",
    "weekday": "Monday; Tuesday; Wednesday; Thursday; Friday; Saturday; Sunday",
    "university": """MIT; Stanford University; the University of Tokyo; ETH Zurich; the University of Cape Town;
        Oxford University; the National University of Singapore; the University of Sao Paulo;
        Seoul National University; the University of Toronto; Imperial College London; Tsinghua University;
        the University of Melbourne; McGill University; the Karolinska Institute; the University of Nairobi;
        Heidelberg University; the Indian Institute of Science; the University of Edinburgh; Caltech""",
    "company_name": """Northwind Labs; Bluepeak Energy; Greenleaf Foods; Orbitra; Solace Health; Quantix;
        Brightwater Logistics; Elm Street Bakery; Helios Robotics; Finch Analytics; Harbor Bank; Nimbus Cloud;
        Redwood Outdoor; Lumen Pharmaceuticals; Cobalt Motors; Pinecone Software; Atlas Freight; Juniper Media;
        Silverline Airways; Evergreen Insurance; Tidewater Shipping; Kestrel Security; Saffron Kitchens;
        Polaris Telecom; Meridian Books; Vantage Retail; Aurora Textiles; Granite Construction Group""",
    "org_public": """World Health Organization; United Nations; European Central Bank; International Red Cross;
        Smithsonian Institution; Bank of Japan; International Olympic Committee; World Bank;
        European Space Agency; African Union; International Monetary Fund; World Wildlife Fund""",
    # --- audiences and roles ---------------------------------------------------------------------------
    "audience": """a ten-year-old; a high school student; a complete beginner; a first-year university student;
        a busy executive; my grandmother; someone with no technical background; a software engineer; a nurse;
        a small business owner; a group of kindergarteners; an investor; a non-native English speaker;
        a journalist; a new employee; a curious teenager; a marketing team; a policy maker; a medical student;
        a law student; a farmer; a visiting tourist; the parent of a toddler; a professional chef;
        an elderly neighbor; a startup founder; a data analyst; a skeptical customer; a sports coach;
        a pharmacist; a graduate student in physics; a middle school science class; a book club;
        a city council; a hospital administrator; a new homeowner; an amateur astronomer; a freelance designer;
        a museum visitor; a factory worker; a bank teller; a yoga instructor; a volunteer firefighter;
        an exchange student; a first-time voter; a high school chemistry teacher; a personal trainer;
        a customer support agent; a project manager; a landlord; a job seeker; a librarian; an accountant;
        a car mechanic; a history buff; a retired engineer; a room full of sixth graders; a skeptical uncle""",
    "role": """a high school teacher; a nurse working night shifts; a first-year college student;
        a small business owner; a freelance writer; a retired engineer; a new team manager;
        a parent of two young kids; a software developer; a graduate student; a volunteer at a food bank;
        a marketing intern; a personal trainer; a travel blogger; an amateur baker; a hospital pharmacist;
        a school librarian; a union representative; a junior accountant; a community organizer;
        a physical therapist; a restaurant owner; a museum guide; a medical resident""",
    "relation": """friend; coworker; roommate; brother; sister; neighbor; manager; teenage son; teenage daughter;
        partner; best friend; landlord; business partner; mother-in-law; father; cousin; team lead;
        oldest friend; flatmate; direct report""",
    "job": """software engineer; data scientist; registered nurse; high school teacher; project manager;
        UX researcher; accountant; sales representative; customer service agent; marketing manager;
        mechanical engineer; pharmacist; electrician; line cook; barista; warehouse supervisor;
        financial analyst; HR coordinator; product manager; paralegal; veterinary technician;
        social media manager; civil engineer; dental hygienist; librarian; delivery driver; real estate agent;
        copywriter; data engineer; DevOps engineer; cybersecurity analyst; physical therapist; architect;
        research assistant; event planner; translator; reporter; lab technician; operations manager;
        store manager; receptionist; plumber; flight attendant; machine learning engineer; school counselor;
        executive assistant; web developer; nursing assistant; bookkeeper; carpenter; policy analyst""",
    "skill": """project management; data analysis; public speaking; customer service; Python programming;
        team leadership; conflict resolution; bookkeeping; social media marketing; technical writing;
        negotiation; event planning; time management; Excel modeling; cloud infrastructure; UX research;
        copywriting; budgeting; stakeholder communication; mentoring junior staff; SQL reporting;
        quality assurance; supply chain planning; grant writing; sales forecasting; crisis communication""",
    "business": """a neighborhood bakery; an online tutoring service; a vegan food truck; a bike repair shop;
        a pet grooming salon; a coworking space; a craft brewery; a yoga studio; an accounting firm;
        a dental clinic; a used bookstore; a cybersecurity startup; a plant nursery; a dog walking service;
        a family-owned pizzeria; a tax preparation service; a wedding planning agency; a local hardware store;
        a car wash; an ice cream parlor; a language school; a climbing gym; a thrift store;
        a home cleaning company; a boutique hotel; a solar panel installer; a children's bookstore;
        a coffee roastery; a physiotherapy clinic; a farmers market stall; an escape room; a tailor shop;
        a moving company; a meal prep service; a bicycle rental shop; a veterinary clinic; a cheese shop;
        a driving school; a recruitment agency; a fitness app startup; a sushi restaurant; a florist""",
    # --- concepts by domain ------------------------------------------------------------------------------
    "concept": """{concept_sci}; {concept_tech}; {concept_fin}; {concept_health}; {concept_hist}; {concept_mind};
        {concept_biz}; {concept_law}; {concept_sport}""",
    "concept_sci": """photosynthesis; natural selection; plate tectonics; the greenhouse effect;
        quantum entanglement; black holes; the water cycle; DNA replication; the theory of relativity; entropy;
        osmosis; the immune response; nuclear fusion; the Doppler effect; superconductivity; the carbon cycle;
        ocean acidification; mitosis; the placebo effect; CRISPR gene editing; dark matter; the Big Bang theory;
        antibiotic resistance; chemical equilibrium; electromagnetic induction; the speed of light;
        gravitational waves; the nitrogen cycle; circadian rhythms; neuroplasticity; the scientific method;
        radioactive half-life; enzymes; buoyancy; Newton's third law; the refraction of light;
        static electricity; the periodic table; covalent bonds; the pH scale; cellular respiration;
        the endocrine system; symbiosis; biodiversity loss; the ozone layer; El Nino; the rock cycle;
        genetic mutations; stem cells; wave-particle duality; the laws of thermodynamics;
        kinetic and potential energy; exoplanets; the life cycle of a star; invasive species; food webs;
        convection currents; magnetism; semiconductors; the human microbiome; carbon dating; tectonic faults""",
    "concept_tech": """recursion; object-oriented programming; machine learning; neural networks;
        cloud computing; encryption; public key encryption; an API; hash tables; Big O notation;
        version control with Git; containerization; REST APIs; the Domain Name System; the TCP/IP model;
        garbage collection; linked lists; binary search; multithreading; how a compiler works;
        the operating system kernel; SQL joins; database indexing; caching; load balancing;
        two-factor authentication; phishing attacks; firewalls; open source software; unit testing;
        continuous integration; dynamic programming; virtual machines; the difference between RAM and storage;
        large language models; gradient descent; overfitting; reinforcement learning;
        convolutional neural networks; quantum computing; edge computing; the Internet of Things;
        microservices; race conditions; functional programming; regular expressions; web cookies;
        end-to-end encryption; zero-knowledge proofs; technical debt; event-driven architecture""",
    "concept_fin": """compound interest; inflation; supply and demand; opportunity cost; index funds;
        diversification; credit scores; the stock market; government bonds; mortgage amortization;
        central bank interest rates; cryptocurrency; blockchain technology; a recession; gross domestic product;
        exchange rates; tariffs; price elasticity; marginal utility; the time value of money; a Roth IRA;
        dollar-cost averaging; venture capital; quantitative easing; budget deficits; market capitalization;
        dividends; short selling; an emergency fund; universal basic income; the gig economy;
        economies of scale; comparative advantage; a balance sheet; cash flow; return on investment;
        hedge funds; the 50/30/20 budgeting rule; stagflation; behavioral economics; moral hazard;
        net present value""",
    "concept_health": """the glycemic index; intermittent fasting; cholesterol; high blood pressure;
        the benefits of deep sleep; mindfulness meditation; cognitive behavioral therapy; insulin resistance;
        the gut microbiome; dehydration; generalized anxiety; burnout; herd immunity; a balanced diet;
        aerobic exercise; muscle hypertrophy; concussions; seasonal allergies; vitamin D deficiency;
        the body mass index; type 2 diabetes; antibiotics; the lymphatic system; chronic inflammation;
        macronutrients; the flu vaccine; heat stroke; jet lag; lactose intolerance; progressive overload""",
    "concept_hist": """the Industrial Revolution; the Renaissance; feudalism; the Cold War; colonialism;
        the Silk Road; the printing press; the French Revolution; the fall of the Roman Empire;
        the Enlightenment; Athenian democracy; the Marshall Plan; apartheid; the Great Depression;
        the civil rights movement; the Meiji Restoration; the Protestant Reformation; the Ottoman Empire;
        the space race; mercantilism; the Agricultural Revolution; the Magna Carta; the Hanseatic League;
        the Bronze Age collapse; the Columbian exchange; the Scramble for Africa; the Green Revolution""",
    "concept_mind": """impressionism; the hero's journey; iambic pentameter; stream of consciousness;
        minimalism in design; the golden ratio; irony; satire; the Socratic method; utilitarianism; stoicism;
        existentialism; cognitive dissonance; confirmation bias; the Dunning-Kruger effect;
        Maslow's hierarchy of needs; groupthink; the tragedy of the commons; game theory;
        the prisoner's dilemma; the sunk cost fallacy; moral relativism; the trolley problem;
        social contract theory; a growth mindset; impostor syndrome; the bystander effect;
        the Pareto principle; Occam's razor; the butterfly effect; emotional intelligence; active listening""",
    "concept_biz": """product-market fit; a minimum viable product; brand positioning; the sales funnel;
        customer lifetime value; agile project management; SWOT analysis; OKRs; supply chain management;
        lean manufacturing; a franchise model; churn rate; net promoter score; A/B testing;
        a market entry strategy; stakeholder management; a value proposition; bootstrapping a startup;
        key performance indicators; the Eisenhower matrix; just-in-time inventory""",
    "concept_law": """the separation of powers; due process; habeas corpus; intellectual property;
        copyright law; fair use; a non-disclosure agreement; the presumption of innocence; judicial review;
        federalism; the electoral college; contract law; tenant rights; small claims court; the GDPR;
        jury duty; the statute of limitations; trademark registration; a power of attorney; probate;
        double jeopardy; class action lawsuits; eminent domain; a living will; the Geneva Conventions;
        the burden of proof; plea bargaining; non-compete clauses""",
    "concept_sport": """the offside rule in soccer; zone defense in basketball; the designated hitter rule;
        VO2 max; periodization in training; the tie-break in tennis; the draft system in professional sports;
        a hat-trick; the Duckworth-Lewis method in cricket; a triple-double; interval training;
        the scoring system in golf; a power play in ice hockey; drafting in cycling; castling in chess""",
    "phenomenon": """the sky is blue; leaves change color in autumn; ice floats on water; airplanes stay in the air;
        the moon has phases; we get hiccups; bread dough rises; soap removes grease; the seasons change;
        bees make honey; volcanoes erupt; earthquakes happen; rainbows form; the ocean is salty; cats purr;
        we dream; coffee keeps people awake; muscles get sore after exercise; prices rise during inflation;
        interest rates affect house prices; vaccines train the immune system; stock markets crash;
        birds migrate; salt melts ice on roads; a refrigerator keeps food cold; a microwave oven heats food;
        GPS determines your location; noise-cancelling headphones work; search engines rank web pages;
        credit card debt grows so quickly; a bill becomes a law; the heart pumps blood;
        the kidneys filter blood; hurricanes form over warm water; stars twinkle;
        metal feels colder than wood; onions make people cry; popcorn pops; languages change over time;
        the tides rise and fall; a solar panel produces electricity; a vaccine is tested before approval;
        fever helps fight infection; a touchscreen detects your finger; hot air balloons rise;
        antibiotics stop working over time; the Roman Empire declined; yawning is contagious""",
    "topic": """remote work; climate change; urban gardening; electric vehicles; social media and teenagers;
        the four-day work week; plant-based diets; artificial intelligence in healthcare; space tourism;
        fast fashion; microplastics; online privacy; public libraries; minimalism; renewable energy;
        homeschooling; cryptocurrency regulation; the future of cities; sleep hygiene; volunteering;
        mental health at work; the history of chocolate; coral reef restoration; e-sports; lifelong learning;
        water scarcity; community gardens; the gig economy; digital detox; local journalism; aging populations;
        food waste; the ethics of gene editing; tiny houses; public transportation; ocean exploration;
        the benefits of bilingualism; cybersecurity for small businesses; self-driving cars; wildfire prevention;
        the rise of podcasts; financial literacy for teens; ancient Egyptian medicine; sustainable tourism;
        vertical farming; loneliness in big cities; the psychology of habits; indoor air quality; beekeeping;
        the history of the bicycle; open-plan offices; online dating; recycling myths; space debris;
        the decline of handwriting; fermentation; citizen science; rewilding; smart homes; the Olympic Games;
        screen time for toddlers; trade schools; wearable health trackers; the origins of coffee;
        ancient Roman engineering; noise pollution; the science of laughter; urban heat islands; tea culture;
        desalination; the history of the internet; first-generation college students; bird migration;
        the ethics of zoos; the economics of streaming services; quantum computing; soil health""",
    "industry": """healthcare; retail; agriculture; banking; education; logistics; tourism; construction;
        fashion; gaming; renewable energy; insurance; real estate; journalism; manufacturing;
        telecommunications; hospitality; pharmaceuticals; aviation; food delivery; publishing; automotive""",
    "historical_event": """the French Revolution; World War I; the fall of the Berlin Wall;
        the American Revolution; the Black Death; the Cuban Missile Crisis; the Partition of India;
        the Apollo 11 moon landing; the Protestant Reformation; the collapse of the Soviet Union;
        the Meiji Restoration; the Haitian Revolution; the 2008 financial crisis;
        the invention of the printing press; the abolition of slavery in the British Empire;
        the 1918 influenza pandemic; the construction of the Panama Canal; the Norman conquest of England;
        the Russian Revolution; the Opium Wars; the rise of the Mongol Empire; the unification of Germany;
        the Great Depression; the signing of the Magna Carta; the Chernobyl disaster; the Arab Spring;
        the breakup of Yugoslavia; the Boston Tea Party; the Irish potato famine; the Dust Bowl;
        the fall of Constantinople; the end of apartheid in South Africa; the Spanish conquest of the Aztecs;
        the Suez Crisis; the Glorious Revolution; the Taiping Rebellion; the War of the Roses;
        the independence of India; the Thirty Years' War; the Mexican Revolution; the Korean War;
        the Reformation in England; the Louisiana Purchase; the Berlin Airlift; the Meiji constitution;
        the Great Fire of London; the invention of the steam engine; the first Crusade; the Cultural Revolution;
        the collapse of the Inca Empire; the Treaty of Versailles; the Vietnam War; the Greek War of Independence;
        the founding of the European Union; the Manchurian Incident; the Gold Rush in California""",
    # --- writing tasks -----------------------------------------------------------------------------------
    "poem_form": """short poem; haiku; limerick; sonnet; free verse poem; rhyming poem; four-line poem;
        villanelle; ballad; cinquain; ode; elegy; tanka; couplet; prose poem""",
    "poem_topic": """the ocean at dawn; a forgotten childhood toy; autumn leaves; the first snowfall;
        a lighthouse keeper; city lights at night; a grandmother's kitchen; losing a friend;
        a rainy Monday morning; the moon; a cup of coffee; a long train journey; a stray cat;
        the silence after a storm; friendship; hope; the passing of time; a garden in spring;
        the desert at night; climbing a mountain; an old bookstore; the smell of fresh bread;
        a migrating bird; the end of summer; the first day of school; homesickness; a broken umbrella;
        the northern lights; a busy market; a quiet library; growing older; the sea in winter;
        a candle burning; fireflies; a bicycle ride; a letter never sent; the last day of school;
        a tree in a city park; a thunderstorm; a fishing village; a kitchen at midnight; a lost glove;
        an empty playground; the smell of rain; a night shift at a hospital; a pair of old boots;
        a sunflower field; starting over; a crowded subway car; a grandfather's watch; a first apartment""",
    "poem_constraint": """that rhymes; in the style of Emily Dickinson; using only one-syllable words;
        with a hopeful ending; that does not rhyme; with exactly four stanzas; full of vivid sensory details;
        suitable for young children; with a melancholy tone; in the voice of an old sailor;
        that ends with a question; using the second person; with a surprising last line;
        that repeats its first line at the end; in under fifty words;
        with an unexpected rhyme scheme; in exactly eight lines; that includes a color in every line;
        addressed to a future grandchild; without using the letter e; with a refrain; as a conversation;
        that mentions {city}; that starts with a question; in plain, modern language""",
    "pov_thing": """a lighthouse; a forgotten umbrella; the last leaf on a tree; a city bus; an old library book;
        a pair of running shoes; a houseplant; a streetlamp; a river; a snowflake; a lost key; a paper boat;
        a coffee mug; a mountain; a retired racehorse; a shopping cart; a park bench; a kite; an alarm clock;
        a fountain pen; a mailbox; a traffic light; a suitcase; a sourdough starter;
        a shipwreck; a subway turnstile; a grandmother's teapot; a lost mitten; a tired elevator;
        a school bell; a garden gnome; a satellite; a library card; a fire hydrant; a violin in a pawn shop""",
    "occasion": """a friend's wedding; a retirement party; Mother's Day; a graduation ceremony;
        a colleague's farewell; a tenth anniversary; the arrival of a new baby; the first day of spring;
        New Year's Eve; a grandfather's 90th birthday; a team's championship win; a memorial service;
        Valentine's Day; a housewarming party; Thanksgiving dinner; Diwali; Lunar New Year; a school reunion;
        Father's Day; a sister's birthday; a company's 25th anniversary""",
    "character": """a retired astronaut; a shy robot; a detective who is afraid of the dark;
        a girl who can talk to birds; a baker in a small village; a time traveler stuck in 1850;
        an old fisherman; a dragon who loves books; a nurse on a night shift; two rival chefs; a lost dog;
        a lighthouse keeper; a street magician; a young inventor; a grumpy cat; a substitute teacher;
        a ghost who haunts a library; a taxi driver in {city}; a beekeeper; a chess prodigy;
        an elderly gardener; a knight who hates fighting; a new kid at school; a forgetful wizard;
        a mail carrier; a clockmaker; a park ranger; a glassblower's apprentice; an octopus in an aquarium;
        a retired opera singer; a teenage hacker; a village midwife; a nervous pilot; a twin who swaps places;
        a stubborn goat; a museum night guard; a bored dragon; a weather forecaster; a runaway bride;
        a fisherman's daughter; a school janitor with a secret; an AI that wants a vacation;
        a tired superhero; a street food vendor in {city}; a botanist on a remote island""",
    "story_event": """finds a mysterious letter; wakes up with a new talent; must win a cooking contest;
        discovers a hidden door in the basement; gets lost in a foreign city; receives a package from the future;
        has to save their village from a flood; befriends an unlikely companion; loses their memory;
        inherits an old bookstore; finds a wallet full of cash; must deliver a message before midnight;
        tries to break a world record; moves to a town where it never stops raining;
        wins the lottery but cannot tell anyone; has one day to say goodbye; switches lives with a stranger;
        learns a secret about their family; opens a shop that sells forgotten memories;
        gets trapped in an elevator with a celebrity; finds a letter describing a place that does not exist;
        teaches a robot to tell jokes; must host a dinner for their worst enemy; becomes mayor by accident;
        discovers their neighbor is a famous spy; tries to return a book that is 80 years overdue;
        follows a cat through a hole in the fence; finds a door that opens onto the sea;
        wakes up in the year 1920; runs a bakery on the moon; must solve a riddle to leave a library""",
    "story_constraint": """in exactly 100 words; that ends with a twist; told in the second person;
        for children aged 5 to 8; in the style of a fairy tale; set in the year 2150; in under 200 words;
        with a happy ending; using only dialogue; that begins with the word "Suddenly";
        without naming the main character; with a moral at the end; in the form of diary entries""",
    "genre": """mystery; science fiction; fantasy; romance; thriller; historical fiction; horror; comedy;
        adventure; dystopian; western; coming-of-age""",
    "story_setting": """a floating city; Victorian London; a research station in Antarctica;
        a small fishing village; a colony on Mars; a haunted hotel; a crowded night market in {city};
        a desert oasis; an underwater research lab; a mountain monastery; a train crossing Siberia;
        a generation ship; a medieval castle under siege; a 1920s jazz club; a remote island lighthouse;
        an abandoned amusement park; a snowed-in ski lodge; a spice market in Marrakech;
        a space elevator; a sinking cruise ship; a village where it is always night;
        a courthouse in 1950s {city}; a rooftop garden in {city}; a desert research camp; a traveling circus;
        a lighthouse on a stormy coast; a bookshop that never closes""",
    "story_start": """The last bus left without her.; Nobody noticed the door until the storm.;
        On the morning of his hundredth birthday, Grandpa Joe packed a suitcase.;
        The letter was addressed to someone who had died fifty years ago.;
        The robot had been told to wait, so it waited.; It was the third time the phone rang at 3 a.m.;
        The compass was wrong, and Lena knew it.; Every house on the street had its lights on except one.;
        The dragon was smaller than anyone expected.; When the river froze, the village finally spoke.""",
    "tone": """formal; casual; friendly; persuasive; professional; humorous; empathetic; enthusiastic; neutral;
        academic; diplomatic; confident; polite; playful; urgent; reassuring""",
    "recipient": """your landlord; a professor; your manager; a client; a hiring manager; your team;
        a supplier; customer support; a conference organizer; your child's teacher; a former colleague;
        the city council; a potential investor; a new tenant; the HR department; a journalist;
        the school principal; a wedding venue; your neighbors; a volunteer group; an insurance company""",
    # --- everyday and practical --------------------------------------------------------------------------
    "howto": """change a flat tire; brew pour-over coffee; set up a monthly budget; negotiate a higher salary;
        prepare for a job interview; repot a houseplant; write a strong thesis statement;
        start a vegetable garden on a balcony; clean a cast iron pan; train a puppy to sit;
        back up a smartphone; make a sourdough starter; tie a bowline knot;
        give constructive feedback to a colleague; create a strong password; perform CPR on an adult;
        submit a tax return; learn to touch type; set up a Python virtual environment;
        deploy a web app to the cloud; remove a red wine stain; improve your posture at a desk;
        memorize a speech; build a campfire safely; plan a surprise party; read a nutrition label;
        unclog a kitchen sink; calculate your carbon footprint; write a haiku; iron a dress shirt;
        jump-start a car battery; compost food scraps; start running as a beginner; sharpen a kitchen knife;
        paint a room; prune a rose bush; write a resignation letter; fold a fitted sheet;
        set up two-factor authentication; check a used car before buying it; make cold brew at home;
        prepare a presentation in one evening; meditate for the first time; clean a laptop keyboard;
        write a short bio for a conference; knit a scarf; replace a bicycle chain; hang a heavy shelf""",
    "tip_topic": """staying focused while working from home; saving money on groceries; learning a new language;
        public speaking; running a first marathon; keeping houseplants alive; improving sleep quality;
        writing a cover letter; reducing screen time; traveling with a toddler; studying for final exams;
        negotiating rent; managing a remote team; cooking for one; staying safe while hiking alone;
        choosing a laptop; reducing food waste; caring for an elderly parent; making friends in a new city;
        surviving a long-haul flight; writing clear emails; keeping a journal; starting a small business;
        dealing with a difficult customer; preparing for a hurricane; teaching kids about money;
        onboarding a new hire; hosting a dinner party; staying hydrated in summer; decluttering a closet""",
    "goal": """reduce plastic waste at home; improve team communication; save for a down payment;
        make a long flight more comfortable; encourage kids to read more; lower your electricity bill;
        increase customer retention; stay motivated while learning to code; make a small apartment feel bigger;
        cut down on sugar; be more productive in the morning; build confidence at work;
        grow an audience on social media; make meetings shorter; support a friend going through a hard time;
        keep a conversation going; improve your handwriting; get better at chess; reduce stress before exams;
        make a website load faster; learn to cook healthy meals; pay off student loans faster;
        get more vegetables into a child's diet; improve the morale of a small team; read more books;
        make a neighborhood safer for cyclists; reduce employee turnover; get better sleep on night shifts;
        attract more visitors to a local museum; prepare for retirement; become a better listener""",
    "idea_kind": """ideas; activities; themes; gift ideas; marketing ideas; fundraising ideas; questions;
        games; icebreakers; project ideas; blog post ideas; challenges; conversation starters; prizes;
        weekend plans; social media posts; workshop topics; team rituals; snack ideas; decoration ideas""",
    "idea_target": """a rainy afternoon with kids; a team-building day; a school science fair; a small garden;
        a company newsletter; a birthday party for a seven-year-old; a podcast about history;
        a weekend in the countryside; a charity bake sale; a blog about personal finance; a first date;
        a retirement gift; a classroom of teenagers; a board game night; a neighborhood cleanup;
        a startup that sells used textbooks; a youth soccer team; a book club meeting;
        a fitness challenge at work; a zero-waste kitchen; a family reunion; a library summer program;
        an office holiday party; a new coffee shop; a senior center; a coding club for girls;
        a road trip across {country}; a wedding on a budget; a virtual team meeting; a camping trip""",
    "category_items": """countries in South America; animals that live in the Arctic;
        programming languages used for data science; famous female scientists; vegetables that grow in shade;
        renewable energy sources; plays by Shakespeare; mammals that can fly or glide;
        board games for two players; gases found in the atmosphere; muscles used in running; Greek gods;
        types of clouds; ancient wonders of the world; deserts in Asia; rivers in Europe;
        Nobel Prize winners in literature; fruits high in vitamin C; bones in the human arm;
        inventions from the 19th century; birds that cannot fly; constellations visible in winter;
        noble gases; US national parks; Olympic sports played on ice; spices used in Indian cooking;
        dog breeds suited to apartments; symptoms of dehydration; sources of plant-based protein""",
    "situation_1p": """I just got my first job offer but the salary is lower than I expected;
        I have trouble falling asleep before 2 a.m.; I want to switch careers from accounting to software;
        I feel overwhelmed by my student loans; I was passed over for a promotion;
        I'm moving to a new city where I don't know anyone; I procrastinate on every big assignment;
        my startup is running out of cash; I can't decide between two job offers;
        my team ignores my ideas in meetings; I spend too much money on takeout;
        I want to ask my boss for remote work; I'm nervous about giving a speech at my sister's wedding;
        I keep losing motivation at the gym; I was accepted to two universities;
        my elderly father refuses to stop driving; I made a mistake that cost my company money;
        I feel burned out after three years in the same job; my best friend is moving abroad;
        I want to start investing but I don't understand the stock market;
        my landlord wants to raise the rent by {10..30} percent; I think my coworker is stealing office supplies;
        I got a bad performance review; I want to quit my job to travel for a year;
        my partner and I disagree about having kids; I'm afraid of driving on highways;
        I have two weddings on the same weekend; my neighbor's dog barks all night;
        I lent my car to a friend and they scratched it; I can't stop comparing myself to others online""",
    "situation_3p": """keeps borrowing money and never pays it back; keeps interrupting me in meetings;
        forgot my birthday again; wants me to co-sign a loan; leaves dirty dishes in the sink every night;
        takes credit for my work; is always late when we make plans; criticizes my cooking in front of guests;
        spends hours on their phone during dinner; asked me to lie for them; never replies to my messages;
        wants to quit college to start a business; keeps parking in my spot; complains about every decision I make;
        shared something I told them in confidence;
        borrowed my car and returned it with an empty tank; posts embarrassing photos of me online;
        keeps giving me unsolicited advice; wants to split the bill evenly although I ate less;
        invited themselves on my vacation; sends work messages late at night""",
    "situation_2p": """just lost their job; is starting college next month; wants to quit smoking;
        is nervous about running a first marathon; has just become a manager; struggles to save money;
        is moving abroad for work; feels lonely after retiring; is preparing for a difficult conversation;
        wants to get back into shape after an injury; is studying for the bar exam; has a fear of flying;
        is caring for a sick parent; just adopted a rescue dog; wants to learn programming at 50;
        is about to negotiate a contract for the first time;
        is returning to work after parental leave; has a fear of public speaking;
        wants to start a podcast; is struggling with a long-distance relationship; keeps missing deadlines;
        feels stuck in a dead-end job; just moved in with roommates for the first time;
        is learning to drive at 35; wants to reconnect with an estranged sibling;
        has been asked to give a eulogy""",
    "choice": """working from home; buying an electric car; living in a big city; homeschooling;
        a gap year before college; renting instead of buying a home; using a credit card for everyday purchases;
        learning to code through online courses; open-plan offices; solar panels for a small house;
        adopting a rescue dog; a four-day work week; nuclear power; owning a car in a big city;
        studying abroad; freelancing; intermittent fasting; starting a business right after college;
        smart home devices; e-books versus paper books; a standing desk; online grocery shopping;
        joining a startup instead of a large company; cloud storage for family photos; a vegan diet""",
    "decision": """take a job that requires relocating; go back to school at 40; start freelancing full-time;
        sell my car and use public transport; pay off my mortgage early; learn Mandarin or Spanish;
        buy a house now or wait a year; switch from Windows to Linux; hire my first employee;
        move back in with my parents to save money; take a year off to travel""",
    "debate_topic": """a four-day work week; school uniforms; nuclear power; rent control; a sugar tax;
        banning phones in classrooms; universal basic income; daylight saving time; mandatory voting;
        remote learning; self-driving cars; public funding for space exploration; zoos; standardized testing;
        tipping in restaurants; a ban on single-use plastics; lowering the voting age to 16;
        congestion charges in city centers; free college tuition; year-round schooling""",
    "claim": """schools should start later in the morning; cities should ban cars from their centers;
        homework should be abolished in primary school; public transport should be free;
        everyone should learn a second language; social media companies should verify users' ages;
        museums should be free to the public; companies should publish salary ranges;
        voting should be mandatory; coding should be taught in every primary school;
        cities should plant more trees instead of building parking; every adult should learn first aid;
        plastic bags should be banned; professional athletes are paid too much;
        libraries are more important than ever; people should take a gap year before university""",
    "hypothetical": """humans could photosynthesize; the internet went down for a month; the moon disappeared;
        everyone could read minds; Earth had two suns; money no longer existed; we discovered life on Mars;
        dinosaurs had not gone extinct; every car became electric overnight; nobody needed to sleep;
        people lived to be 200 years old; all languages merged into one; the oceans rose by ten meters;
        gravity were twice as strong; the printing press had never been invented; honeybees went extinct;
        everyone worked only three days a week; it never rained again in {country};
        cities had no traffic lights; robots did all household chores""",
    "myth": """we only use 10 percent of our brains; goldfish have a three-second memory;
        lightning never strikes the same place twice; the Great Wall of China is visible from space;
        bulls are angered by the color red; cracking your knuckles causes arthritis; bats are blind;
        humans have only five senses; Napoleon was unusually short; sugar makes children hyperactive;
        you lose most of your body heat through your head; shaving makes hair grow back thicker;
        you should wait an hour after eating before swimming; chameleons change color to match their surroundings;
        eating carrots improves your night vision; Einstein failed math at school;
        ostriches bury their heads in the sand; reading in dim light damages your eyes;
        antibiotics work against viruses; the tongue has separate taste zones; camels store water in their humps;
        glass is a slow-moving liquid; you swallow spiders in your sleep; hair and nails keep growing after death;
        dropping a penny from a skyscraper can kill someone; bananas grow on trees""",
    # --- products, food, travel --------------------------------------------------------------------------
    "product": """a reusable water bottle; noise-cancelling headphones; a standing desk; a smart thermostat;
        an electric toothbrush; a solar-powered phone charger; hiking boots; a cast iron skillet;
        a language learning app; a meal kit subscription; a fitness tracker; a robot vacuum;
        a bamboo cutting board; an ergonomic office chair; a portable espresso maker; a weighted blanket;
        a budgeting app; a children's science kit; an electric bike; a sleep mask with built-in speakers;
        a compost bin for apartments; a waterproof backpack; a mechanical keyboard; an air purifier;
        a smart doorbell; a travel pillow; an insulated lunch box; a plant-based protein powder;
        a reading lamp; a refillable deodorant; a handmade ceramic mug; a password manager;
        an online course on public speaking; a board game about climate change; a pet camera;
        a foldable kayak; a rice cooker; a set of resistance bands; a wool winter coat; a stroller""",
    "product_feature": """its long battery life; its eco-friendly materials; how easy it is to clean;
        its compact size; its lifetime warranty; its quiet operation; its affordable price;
        its sleek design; how quickly it can be set up; its durability; its safety features;
        the fact that it is made locally""",
    "brand_value": """sustainability; speed; affordability; family tradition; local ingredients; reliability;
        luxury; community; innovation; friendliness; craftsmanship; health; convenience""",
    "dish": """lasagna; chicken curry; pad thai; vegetable stir-fry; banana bread; mushroom risotto;
        beef tacos; shakshuka; French onion soup; chocolate chip cookies; a Greek salad; pancakes;
        spaghetti carbonara; chana masala; miso soup; a lemon tart; fish and chips; ratatouille; paella;
        guacamole; falafel; a Caesar salad; bibimbap; chili con carne; an apple pie; butter chicken;
        ramen from scratch; a quiche lorraine; hummus; pho; tiramisu; gazpacho; moussaka; pierogi;
        jollof rice; tom yum soup; a vegetable lasagna; sushi rolls; a tortilla espanola; focaccia;
        a black bean burger; cinnamon rolls; a lentil soup; a mango smoothie bowl; beef stroganoff;
        a shepherd's pie; dumplings; carrot cake; a veggie omelette; overnight oats""",
    "ingredient": """chickpeas; spinach; salmon; sweet potatoes; tofu; eggs; rice; lentils; chicken thighs;
        mushrooms; zucchini; feta cheese; quinoa; canned tomatoes; coconut milk; ground beef; broccoli;
        bell peppers; black beans; avocado; oats; cauliflower; shrimp; pasta; potatoes; kale; carrots;
        Greek yogurt; peanut butter; apples; bananas; cabbage; ricotta; leftover bread; frozen peas;
        canned tuna; eggplant; corn; ginger; pumpkin""",
    "diet_adj": """vegan; gluten-free; low-carb; dairy-free; high-protein; kid-friendly; budget-friendly;
        vegetarian; nut-free; low-sodium; quick; one-pot""",
    "diet_person": """a vegetarian athlete; someone with type 2 diabetes; a college student on a tight budget;
        a family of four with picky eaters; someone trying to eat more protein; a person with celiac disease;
        a busy nurse who works twelve-hour shifts; an older adult who wants to eat less salt;
        a teenager training for a swim meet; a new parent with little time to cook""",
    "menu_event": """a dinner party for {4..12} guests; a child's birthday party; a romantic anniversary dinner;
        a picnic in the park; a team lunch with several dietary restrictions; a Sunday brunch with family;
        a holiday dinner for {6..20} people; a summer barbecue; a bridal shower; a book club evening""",
    "traveler": """a family with two young kids; a solo backpacker; a retired couple; a group of college friends;
        a business traveler with one free day; a wheelchair user; a food lover; a history enthusiast;
        a couple on their honeymoon; a first-time visitor; an avid hiker; a student on a tight budget;
        a group of retirees who love gardens; a couple traveling with a dog; a vegan food blogger;
        a teenager on a school exchange; three friends celebrating a birthday; a nervous first-time flyer;
        a family with a newborn; a marathon runner before a race; a birdwatcher; an architecture student""",
    "travel_focus": """local food; museums; hiking; nightlife; architecture; beaches; history; shopping;
        street markets; wildlife; art galleries; day trips; outdoor adventures""",
    "interest": """historical fiction; true crime; birdwatching; home cooking; personal finance;
        space exploration; woodworking; ancient history; strategy games; long-distance running; gardening;
        philosophy; urban planning; behavioral psychology; mountaineering; marine biology; mystery novels;
        minimalist living; classic cars; stand-up comedy; knitting; economics; astronomy; climate science""",
    "rec_media": """books; podcasts; board games; documentaries; novels; online courses; mobile apps;
        TV series; classic films; weekend getaways; magazines; YouTube channels; hobbies to try""",
    "sport": """soccer; basketball; tennis; cricket; baseball; rugby; volleyball; golf; ice hockey; badminton;
        table tennis; swimming; cycling; chess; handball; water polo; lacrosse; curling; fencing; squash""",
    "sport_skill": """footwork; shooting accuracy; endurance; serve; defensive positioning; reaction time;
        decision making under pressure; passing; consistency; mental toughness""",
    "fitness_person": """a beginner with bad knees; a busy office worker; a 60-year-old who wants to stay active;
        a teenager training for soccer; someone recovering from a back injury; a new mother;
        a runner preparing for a half marathon; a person who can only train at home; a firefighter recruit;
        a college student with no gym access""",
    "workout_kind": """strength training; running; home workout; mobility; swimming; cycling; bodyweight;
        yoga; interval training; core strengthening""",
    "fin_person": """a 25-year-old with student debt; a freelancer with irregular income;
        a couple planning to buy their first home; a retiree living on a fixed income;
        a teenager with a first paycheck; a single parent; a recent graduate in {city};
        a small business owner; a nurse in her forties""",
    "fin_goal": """build an emergency fund; pay off credit card debt; start investing for retirement;
        save for a child's education; plan for early retirement; budget for a wedding;
        reduce monthly expenses; improve a low credit score; save for a trip to {country}""",
    "legal_role": """a tenant; an employee; a consumer; a freelancer; an airline passenger; a patient;
        a student; an online shopper; a landlord; a small business owner""",
    "legal_situation": """a landlord refuses to return a security deposit; an employer cuts wages without notice;
        a flight is cancelled at the last minute; a product turns out to be defective;
        a gym refuses to cancel a membership; personal data is leaked in a breach;
        a client refuses to pay an invoice; a neighbor builds a fence on their land;
        a package is lost in the mail; they are asked to sign a non-compete agreement""",
    # --- school and work ---------------------------------------------------------------------------------
    "school_topic": """fractions; the water cycle; persuasive writing; the American Revolution; photosynthesis;
        basic probability; the solar system; poetry analysis; the causes of World War I; simple machines;
        climate zones; the human digestive system; Spanish greetings; personal budgeting; loops in programming;
        the structure of an atom; ancient Egypt; the food chain; linear equations; the branches of government;
        volcanoes; the scientific method; Romeo and Juliet; states of matter; the Pythagorean theorem;
        the French Revolution; plate tectonics; percentages; the Roman Empire; haiku writing;
        electric circuits; the rainforest; supply and demand; compass navigation; ancient Greece; the digestive system;
        slope and intercept; Shakespeare's sonnets; probability with dice; recycling; the human skeleton""",
    "grade": """third-grade; fifth-grade; seventh-grade; ninth-grade; high school; adult education;
        first-year university; second-grade; eighth-grade; eleventh-grade""",
    "sched_person": """a college student with a part-time job; a parent working from home;
        a nurse on rotating shifts; a high school senior preparing for exams; a freelance designer;
        a retiree; a beginner training for a 10K; a new remote employee; a graduate student writing a thesis;
        a bartender with a day job""",
    "quiz_topic": """{concept}; {historical_event}; {country}; {sport}; {school_topic}; {topic}""",
    "dialogue_pair": """a customer and a barista; a doctor and a nervous patient; two astronauts;
        a teacher and a parent; {famous_person} and {famous_person#2}; a job candidate and an interviewer;
        a landlord and a tenant; a detective and a suspect; a grandparent and a grandchild;
        two rival chefs; a robot and a child; a tourist and a local guide; two old friends;
        a manager and an employee asking for a raise; a librarian and a student""",
    "analogy_domain": """cooking; sports; gardening; city traffic; a library; a restaurant kitchen;
        an orchestra; building a house; the postal service; a school; a busy airport; a supermarket""",
    "naming_target": """a coffee shop in {city}; a golden retriever puppy; a fantasy kingdom;
        a cybersecurity startup; a podcast about {topic}; a family board game; a vegan bakery; a hiking club;
        a new line of eco-friendly sneakers; a science fiction spaceship; a community garden;
        a newsletter about {industry}; a mobile app for tracking habits; a children's book character;
        a sailboat; a bakery that only sells bread; a robot butler; a charity run""",
    "announcement": """the opening of {business}; a new partnership with {company_name};
        our team's {2..30}th anniversary; a free workshop on {topic}; a summer sale with {10..50}% off;
        the launch of {product}; reaching {2..99},000 customers; our new office in {city};
        a volunteer day at the local food bank; a webinar about {concept}; extended weekend hours""",
    "regex_target": """valid email addresses; US phone numbers like (555) 123-4567; dates in DD/MM/YYYY format;
        hexadecimal color codes; IPv4 addresses; words that start with a capital letter;
        URLs that begin with https; Canadian postal codes; passwords with at least one digit and one symbol;
        times in 24-hour format; repeated words such as "the the"; ISBN-13 numbers; US ZIP codes;
        prices written like $19.99; lines that end with a semicolon""",
    "code_task": """checks whether a string is a palindrome; returns the n-th Fibonacci number;
        removes duplicates from a list while preserving order; counts the vowels in a string;
        merges two sorted lists into one sorted list; finds the second largest number in a list;
        converts Celsius to Fahrenheit; validates an email address; reverses the words in a sentence;
        computes the factorial of a number recursively; flattens a nested list;
        finds the most common word in a text; checks if two strings are anagrams;
        generates all permutations of a string; computes the greatest common divisor of two integers;
        returns the prime factors of an integer; performs binary search on a sorted array;
        sorts a list of dictionaries by a given key; parses a date string in the format YYYY-MM-DD;
        splits a list into chunks of size k; rotates a matrix by 90 degrees; checks whether a number is prime;
        converts a Roman numeral to an integer; converts an integer to binary without built-in functions;
        finds the longest common prefix of a list of strings; capitalizes the first letter of every word;
        computes the moving average of a list of numbers; detects a cycle in a linked list;
        implements a stack using two queues; validates a Sudoku board;
        computes the edit distance between two strings; returns the intersection of two lists;
        groups words by their first letter; truncates a string and adds an ellipsis;
        checks whether the brackets in a string are balanced; computes the median of a list;
        finds all pairs in an array that sum to a target; converts snake_case to camelCase;
        counts how often each character appears in a string; implements a simple LRU cache;
        shuffles a deck of cards; simulates rolling two dice {100..10000} times;
        calculates the area of a triangle from its three sides; finds the missing number in a sequence;
        merges two dictionaries; checks if a year is a leap year; returns the Collatz sequence of a number;
        finds the longest word in a sentence; computes the dot product of two vectors;
        converts a decimal number to hexadecimal; removes all punctuation from a string;
        checks whether a list is sorted; returns the k largest elements of an array;
        generates a random password of length n; calculates the day of the week for any date;
        counts the words in a string; transposes a matrix; finds the first non-repeating character""",
    "code_constraint": """without using external libraries; in O(n) time; using recursion; using a single loop;
        with type hints; and include unit tests; and handle invalid input gracefully;
        using list comprehensions; with clear comments; in under 20 lines; without using loops""",
    "prog_lang": """Python; Python; JavaScript; Java; C++; TypeScript; Go; Rust; C#; Ruby; Kotlin; Swift; PHP;
        Haskell; Scala; R; C""",
    "sql_task": """find the top {3..10} customers by total spending; list all employees who earn more than
        their manager; count the orders placed in each month of {2015..2024};
        find all products that have never been ordered; calculate the average salary for each department;
        return the second highest salary; find duplicate email addresses in a users table;
        delete all sessions older than {7..90} days; list students enrolled in more than {2..5} courses;
        find the busiest day of the week for appointments; compute a running total of daily sales;
        rank salespeople by revenue within each region; find customers who placed no orders in {2019..2024};
        list books that are currently checked out and overdue; calculate the monthly churn rate;
        find the three most popular products in each category; show flights delayed by more than
        {30..180} minutes; compute each patient's most recent visit date;
        find employees hired in the last {2..12} months; update prices by {3..20} percent for one supplier;
        list the five most recent orders for each customer; calculate total revenue per product category;
        find customers who bought the same product more than twice; count active users per country;
        find the average delivery time per courier; list departments with no employees;
        find the longest streak of consecutive login days per user; show the median order value per month;
        list authors who have written more than {2..5} books; find overlapping hotel bookings;
        compute year-over-year growth in sales; find the highest-paid employee in each department""",
    "sql_dialect": "SQL; SQL; SQL; PostgreSQL; MySQL; SQLite",
    # --- sentences used as inputs ------------------------------------------------------------------------
    "sentence": """{person_ref} decided to {sent_action} before {time_ref}.;
        {person_ref} [wanted|promised|forgot|tried|refused|agreed] to {sent_action} after {time_ref}.;
        The {sent_noun} was [too|surprisingly|very|rather|not] {sent_adj} for {sent_tail}.;
        {person_ref} [said|thinks|mentioned|told me|suspects|wrote] that {clause}.;
        It is [important|essential|hard|easy|tempting] to {sent_action} [every day|each morning|on weekends|
        before a trip|when you are tired].;
        [Our|The] {org_unit} will {org_action} [next month|by Friday|in the spring|this quarter|after the audit].;
        [Although|Even though|Because] {clause}, {person_ref} [still|never|finally] managed to {sent_action}.;
        [Yesterday|Last week|On Sunday|This morning], {person_ref} [had to|chose to|was asked to] {sent_action}
        because {clause}.;
        If {person_ref} [had|could have] {sent_action_pp}, {clause_cond}.;
        {person_ref} and {person_ref#2} [spent|wasted|needed] {2..9} hours trying to {sent_action}.;
        We [should|could|might] {sent_action} [instead of|before|after] {sent_gerund}.;
        Nobody expected that {clause}, [least of all|not even] {person_ref}.;
        The {sent_noun} that {person_ref} recommended turned out to be {sent_adj}.;
        Before {sent_gerund}, {person_ref} wants to {sent_action}.;
        {person_ref} asked whether we could {sent_action} [tomorrow|next week|before {weekday}].;
        Most people agree that it is worth it to {sent_action}, even when {clause}.;
        I can't believe {person_ref} [forgot|decided|offered] to {sent_action} again.;
        There is no way to {sent_action} until {clause_until}.;
        According to {person_ref}, {clause}.;
        [Honestly|Frankly|Apparently], the {sent_noun} was the most {sent_adj} part of the day.;
        {person_ref} [usually|rarely|never] [remembers|manages|bothers] to {sent_action} on time.;
        The reason {person_ref} [left early|was upset|changed plans] is that {clause}.;
        After {sent_gerund}, {person_ref} realized that {clause}.;
        When {clause}, {person_ref} [simply|quietly|immediately] decided to {sent_action}.;
        Our {sent_noun} [last|this] {weekday} was [far|a bit|much] more {sent_adj} than expected.""",
    "person_ref": """{name}; {name}; {name}; my neighbor; the manager; our teacher; the committee; my brother;
        the new intern; the doctor; the author; the team; our landlord; the customer; the mayor; my aunt;
        the coach; the chef; my roommate; the pilot; my grandfather; the principal; the plumber; our editor;
        the nurse; my sister; the accountant; the tour guide""",
    "sent_action": """finish the report; call the bank; visit her grandmother; clean the garage; learn Spanish;
        book the tickets; water the plants; fix the leaking tap; submit the application; read the whole novel;
        bake a cake for the party; update the website; pay the electricity bill; renew his passport;
        organize the meeting; walk the dog; return the library books; replace the battery; prepare the slides;
        paint the fence; answer every email; reorganize the pantry; train for the race; apologize to the team;
        cancel the subscription; hire a new designer; rewrite the introduction; move the furniture;
        plant tomatoes in the backyard; repair the old bicycle; write a thank-you note; back up the laptop;
        sort the recycling; negotiate a better price; memorize the speech; sell the old piano;
        clear the snow from the driveway; call the insurance company; test the new recipe;
        find a cheaper flight; translate the brochure; interview three candidates; change the password""",
    "sent_action_pp": """finished the report; called the bank; booked the tickets earlier; read the instructions;
        checked the weather; left on time; asked for help; saved some money; listened to the doctor;
        updated the software; tested the brakes; kept the receipt""",
    "clause_until": """the new parts arrive; the manager signs off; the rain stops; the office reopens;
        we get the test results; the contract is renewed; the kids are asleep""",
    "clause_cond": """we would have avoided the delay; the party would have been a success;
        nobody would have noticed; the budget would have lasted longer; the team would have won;
        the problem would have been solved by now; the guests would not have waited""",
    "sent_gerund": """buying a new car; starting the meeting; calling the client; leaving for the airport;
        hiring more staff; painting the kitchen; signing the lease; launching the campaign""",
    "time_ref": """the deadline; lunch; the meeting; the weekend; the holidays; the end of the month;
        the storm arrived; sunset; the guests arrived; the store closed; the semester ended; the flight""",
    "sent_noun": """soup; presentation; hotel room; lecture; new policy; movie; exam; hike; meeting; contract;
        car; sofa; jacket; app; proposal; software update; restaurant; bridge; garden; museum tour;
        kitchen renovation; training session; birthday party; quarterly report; new phone; ferry ride;
        job interview; wedding speech; conference call; camping trip; board meeting; yoga class; road trip;
        science fair; art exhibition; press conference; cooking class; hotel breakfast""",
    "sent_adj": """long; expensive; crowded; confusing; noisy; cold; complicated; small; slow; boring; spicy;
        heavy; bright; quiet; bumpy; short;
        exhausting; chaotic; disappointing; delightful; overpriced; inspiring; awkward; stressful;
        rushed; charming; underwhelming; memorable; tedious; cramped; relaxing""",
    "sent_tail": """most of the guests; a short weekend trip; the younger students; our small budget;
        anyone to understand; a family of five; the children to enjoy; us to finish on time; a rainy day;
        anyone over the age of seventy; the volunteers who showed up early; a Monday morning;
        the amount of money we spent; people who had never been there before; the new employees""",
    "clause": """the meeting had been moved to Thursday; the project would be delayed;
        the results were better than expected; the store closes early on Sundays; the new policy was unfair;
        the train was running late; the soup needed more salt; the tickets were already sold out;
        the budget had been approved; the bridge would reopen next week; the printer was broken again;
        nobody had read the instructions; the weather was perfect; the deadline could not move;
        the landlord was raising the rent; the client loved the first draft; the museum was closed for repairs;
        the power had gone out twice; the dog had eaten the homework; the flight was overbooked;
        the recipe called for twice as much butter; the contract had a hidden fee; the team was short-staffed;
        the new software kept crashing; the roads were icy; the keynote speaker had cancelled""",
    "org_unit": """marketing team; city council; school board; IT department; research group; sales team;
        hospital; library; startup; finance office""",
    "org_action": """launch a new campaign; review the budget; hire two new engineers; update the security policy;
        close the east entrance for repairs; publish the annual report; move to a larger office;
        introduce flexible working hours; replace the old servers; host an open house""",
    "bad_sentence": """Me and him goes to the store yesterday.; She don't like them apples.;
        Their going to the park tomorrow, isnt it?; I has three brother and two sister.;
        The informations you gave me was very usefull.; He runned to the bus stop but it already leaved.;
        Everyone have their own opinion about it.; Who's book is this one?; Less people came then we expected.;
        I could of finished it if I had more time.; The team are playing good this season.;
        Between you and I, the plan dont work.; Your the best freind I ever had.;
        {name} dont want to {sent_action} becuase it are to {sent_adj}.;
        Me and {name} was going to {sent_action} but we forgetted.;
        {person_ref} have went to {city} two time last year.;
        If I would have knew about the {sent_noun}, I would of came earlier.;
        There is alot of reasons why {name} quitted the job.;
        {person_ref} dont never {sent_action} on time, its so annoying.;
        Who's responsibility is it to {sent_action}, me or {name}?;
        The {sent_noun} were more {sent_adj} then I expect.;
        Each of the students have finished there homework.;
        {name} and me has been waiting since a hour.;
        Neither of the {countable} are mine, so I dont know who's they is.;
        {name} has went to the store and buyed {2..9} {countable} yesterday.;
        Its been a long time since me and {person_ref} seen each other.;
        The team have decide to {sent_action} tommorow morning.;
        I seen {person_ref} at the {sent_noun} but he didnt saw me.""",
    "tr_phrase": """Where is the train station?; I would like a table for two, please.; How much does this cost?;
        Good morning, how are you?; I'm allergic to peanuts.; Could you speak more slowly?;
        The meeting has been postponed.; Happy birthday!; I am lost.; Thank you for your help.;
        What time does the museum open?; Can I pay by card?; The weather is beautiful today.;
        I don't understand.; Where can I buy a ticket?; My name is {name} and I am from {city}.;
        I have a reservation under the name {surname}.; Is this seat taken?; Please call a doctor.;
        We are looking for a cheap hotel near the center.; See you tomorrow at {1..11} o'clock.;
        How long does it take to get to the airport?; I would like to return this jacket.;
        Do you have any vegetarian dishes?; The bill, please.; I've been learning your language for a year.""",
    "review": """The {rev_thing} {rev_good}.; The {rev_thing} {rev_bad}.;
        The {rev_thing} {rev_good}, but the {rev_thing#2} {rev_bad}.;
        I [ordered|bought|tried|booked] {rev_product} [last week|yesterday|a month ago] and {rev_outcome}.;
        {rev_exclaim} The {rev_thing} {rev_good}!;
        Honestly, the {rev_thing} {rev_bad}, [and I won't be back|so I asked for a refund|which was a shame].;
        The {rev_thing} {rev_bad}, although the {rev_thing#2} {rev_good}.;
        I [ordered|bought|tried|booked] {rev_product} for my {relation} and {rev_outcome}. {rev_extra};
        {rev_exclaim} {rev_extra} The {rev_thing} {rev_bad}.;
        After {2..14} days of using {rev_product}, I can say the {rev_thing} {rev_good}. {rev_extra}""",
    "rev_thing": """battery; staff; delivery; food; room; customer service; checkout process; camera; screen;
        instructions; fabric; waiter; app; seat; coffee; packaging; sound quality; price; check-in;
        breakfast; tour guide; keyboard; instructor; shipping; menu; bed; Wi-Fi""",
    "rev_good": """was excellent; exceeded my expectations; works perfectly; was friendly and quick;
        arrived a day early; is worth every penny; was spotless; tastes amazing; made the whole trip better;
        is surprisingly comfortable; is easy to use; was better than I hoped""",
    "rev_bad": """was a complete letdown; stopped working after two days; took forever; was rude and unhelpful;
        smelled strange; is way too expensive; was cold when it arrived; keeps crashing;
        fell apart after one wash; was confusing; was noisy all night; was nothing like the description""",
    "rev_product": """a pair of running shoes; a blender; a hotel room in {city}; the tasting menu; a used car;
        a phone case; a cooking class; a yoga mat; an online course; a train ticket to {city};
        a gaming laptop; a set of kitchen knives; a cleaning service; a guided tour of {city}""",
    "rev_outcome": """it broke within a week; I love it so far; it was okay but nothing special;
        it is exactly as described; the seller never replied to my emails; it changed my morning routine;
        I regret the purchase; it was worth the wait; the quality is average for the price""",
    "rev_extra": """I would definitely recommend it.; I would never recommend it to anyone.;
        Delivery took {2..14} days.;
        I paid ${10..500} for it.; Customer support replied within an hour.; It looks cheaper than in the photos.;
        My kids love it.; I have already ordered a second one.; The price went up the week after I bought it.;
        I am still waiting for a response.; It is fine for the price.; I expected more from this brand.""",
    "rev_exclaim": "Wow.; Absolutely fantastic.; Not bad at all.; What a disaster.; Five stars.; Meh.",
    "headline": """{team} [beat|edge past|stun|crush] {team#2} in [overtime|the season opener|the cup semifinal];
        {company_name} [reports|posts] [record|disappointing] [profits|revenue] in the
        [first|second|third|fourth] quarter; Scientists [discover|identify|report] {sci_discovery};
        {country} [passes|announces|debates] new {policy_area} [law|rules|reform];
        New study links {health_factor} to {health_outcome}; {company_name} unveils {tech_launch};
        {city} [approves|rejects|delays] plan to {civic_plan};
        A new book about {famous_person} tops bestseller lists in {country};
        {city} marathon [postponed|cancelled|moved] after [heat wave|storm warning|transit strike];
        [Inflation|Unemployment|Housing prices] [rises|falls|holds steady] in {country} for {2..6}th month;
        {sport} star {full_name} [signs|retires|returns] after {2..15} seasons;
        Hospital in {city} [pilots|launches|tests] {tech_launch};
        Study finds {finding};
        {org_public} warns of {health_outcome} risk linked to {health_factor};
        {company_name} [recalls|relaunches|discontinues] {product} after [complaints|strong demand|safety review];
        Voters in {city} [approve|reject] measure to {civic_plan}""",
    "team": "the {city} Tigers; {city} FC; the {city} Hawks; {city} United; the {city} Wolves",
    "sci_discovery": """a new species of frog in the Andes; water ice near the lunar south pole;
        a gene linked to longevity; an exoplanet with a possible atmosphere; a 3,000-year-old shipwreck;
        a bacterium that digests plastic; the oldest known cave painting; a new antibiotic in soil samples""",
    "policy_area": """data privacy; immigration; minimum wage; climate; housing; education; tax; healthcare;
        energy; transport""",
    "health_factor": """daily coffee drinking; ultra-processed food; regular walking; screen time before bed;
        loneliness; air pollution; a Mediterranean diet; strength training; napping""",
    "health_outcome": """a lower risk of heart disease; poorer sleep; a longer life; memory decline;
        higher blood pressure; improved mood; faster recovery after surgery""",
    "tech_launch": """a foldable laptop; an AI assistant for doctors; a battery that charges in five minutes;
        a delivery drone network; a smart ring that tracks stress; a translation earbud;
        a self-driving delivery van;
        a solar-powered laptop; a translation app for sign language; a blood test you can take at home;
        a recycling robot; a drone that plants trees; glasses that caption conversations; a smart mattress;
        an electric cargo bike; a chip that halves power use""",
    "civic_plan": """ban gas-powered leaf blowers; double the number of bike lanes; plant 100,000 new trees;
        make buses free for students; convert old offices into affordable housing;
        replace all streetlights with LEDs; build a new light rail line; close the main square to cars;
        open three new public libraries; add a tourist tax""",
    "ner_sentence": """{full_name}, the [CEO|founder|head of research|chief financial officer] of {company_name},
        [met with|spoke to|signed a deal with] {full_name#2} in {city} on {month} {1..28}, {2015..2024}.;
        In {month} {2010..2024}, {company_name} [opened|announced] a new office in {city}, led by {full_name}.;
        {famous_person} lived in {city} for several years before moving to {city#2}.;
        The {org_public} announced on {weekday} that {full_name} will lead its new office in {city}.;
        {full_name} and {full_name#2} [founded|started] {company_name} in {city} in {1990..2022}.;
        After studying at {university}, {full_name} joined {company_name} as a {job} in {2005..2024}.;
        On {weekday}, {full_name} flew from {city} to {city#2} to meet representatives of the {org_public}.;
        {company_name} hired {full_name} as its new [CEO|head of design|chief scientist] after a search that
        began in {month} {2015..2024}.;
        According to {full_name} of {university}, the {org_public} will fund a project in {country}.;
        {full_name} was born in {city} in {1940..2005} and later studied at {university}.""",
    "passage": """{p_sent} {p_sent#2} {p_sent#3}; {p_sent} {p_sent#2} {p_sent#3} {p_sent#4}""",
    "p_sent": """Researchers at {university} [found|reported|announced] that {finding}.;
        The city of {city} [plans to|has decided to|voted to] {civic_plan} by {2026..2035}.;
        {company_name}, a {industry} company based in {city}, [reported|announced] {business_news}.;
        Critics argue that {critic_point}, while supporters say {support_point}.;
        According to a recent survey, {10..90} percent of {survey_group} {survey_result}.;
        The project is expected to cost about {2..900} million dollars and create {100..5000} jobs.;
        Local residents have raised concerns about {resident_issue}.;
        Officials said the first results would be published in {month}.;
        The study followed {200..9000} participants over {2..20} years.;
        Experts caution that more research is needed before reaching firm conclusions.;
        The announcement comes after {2..10} years of debate about {resident_issue}.""",
    "finding": """people who walk after meals have lower blood sugar; bees can recognize human faces;
        sleeping less than six hours a night weakens the immune system;
        urban trees can lower street temperatures by several degrees; octopuses appear to dream;
        children who read for fun score higher in math; microplastics are present in most bottled water;
        remote workers take fewer sick days; a common antacid may slow the growth of certain tumors;
        crows can count up to four; short naps improve memory in older adults""",
    "business_news": """a {3..25} percent rise in quarterly revenue; plans to cut {100..900} jobs;
        a new partnership with a major retailer; a delay in launching its flagship product;
        record sales during the holiday season; the acquisition of a smaller rival""",
    "critic_point": """the plan is too expensive; the change will hurt small businesses; the data is incomplete;
        the timeline is unrealistic; the benefits are exaggerated""",
    "support_point": """it will save money in the long run; it will reduce pollution; it will create jobs;
        the change is long overdue; it will make the city safer""",
    "survey_group": """teenagers; remote workers; small business owners; nurses; college students; parents;
        retirees; drivers in large cities""",
    "survey_result": """feel stressed about money; would switch jobs for a four-day week;
        use at least three apps to manage their time; skip breakfast on weekdays; have tried meditation;
        plan to buy an electric car; read the news every day""",
    "resident_issue": """rising rents; traffic near the new stadium; noise from construction;
        the closure of the local library; the loss of green space; the price of parking""",
    "text_kind": "passage; text; news excerpt; article excerpt; report; press release",
    "book": """Pride and Prejudice; 1984; To Kill a Mockingbird; The Great Gatsby; Moby-Dick; Don Quixote;
        Crime and Punishment; One Hundred Years of Solitude; Things Fall Apart; The Little Prince;
        Frankenstein; Jane Eyre; War and Peace; The Odyssey; Hamlet; Macbeth; Brave New World;
        The Catcher in the Rye; Of Mice and Men; The Alchemist; Sapiens; On the Origin of Species;
        A Brief History of Time; The Art of War; The Hobbit; Animal Farm; The Hunger Games; Beloved; The Road;
        Dune; Wuthering Heights; Les Miserables; The Kite Runner; Silent Spring; Thinking, Fast and Slow;
        The Wealth of Nations; The Republic; Meditations; Little Women; The Count of Monte Cristo""",
    "trivia": """How many bones are in the adult human body?; Which planet has the most moons?;
        What is the boiling point of water in Fahrenheit?; Who painted the Mona Lisa?;
        What is the longest river in Africa?; How far is the Moon from Earth?; What year did the Berlin Wall fall?;
        Which element has the chemical symbol Fe?; What is the tallest mountain in South America?;
        How many players are on a rugby union team?; What is the largest organ of the human body?;
        Who wrote the novel Frankenstein?; What is the smallest prime number?; How many time zones does Russia have?;
        Which ocean is the deepest?; What gas do plants absorb from the air?; Who invented the telephone?;
        What is the speed of sound in air?; Which country has the largest population in Africa?;
        What is the hardest natural substance?; How many hearts does an octopus have?;
        What is the currency of Switzerland?; Which blood type is the universal donor?;
        When was the first email sent?; What is the most spoken language in the world?;
        How long does light from the Sun take to reach Earth?; Which is the largest desert in the world?;
        What is the chemical formula for table salt?; Who was the first woman to win a Nobel Prize?;
        How many strings does a standard violin have?; What does DNA stand for?;
        Which vitamin does the body make from sunlight?; What is the freezing point of seawater?;
        Which country invented paper?; What is the square root of 169?; How many sides does a dodecagon have?""",
    "vocab_word": """ubiquitous; ephemeral; serendipity; pragmatic; meticulous; resilient; ambiguous; candid;
        eloquent; frugal; gregarious; juxtapose; mitigate; nostalgia; obsolete; paradox; quintessential;
        reluctant; scrutinize; tenacious; unprecedented; verbose; whimsical; zealous; benevolent; cynical;
        diligent; empathy; futile; hypothesis; inevitable; lethargic; nuance; ominous; plausible""",
    "idiom": """break the ice; bite the bullet; the ball is in your court; once in a blue moon;
        hit the nail on the head; spill the beans; under the weather; cost an arm and a leg;
        let the cat out of the bag; a blessing in disguise; burn the midnight oil; cut corners;
        the elephant in the room; barking up the wrong tree; throw in the towel; on thin ice""",
    "unit_pair": """miles to kilometers; pounds to kilograms; degrees Fahrenheit to Celsius; cups to milliliters;
        ounces to grams; feet to meters; gallons to liters; inches to centimeters;
        kilometers per hour to miles per hour; acres to hectares; square feet to square meters;
        tablespoons to teaspoons; hours to seconds; kilobytes to megabytes; liters to cubic centimeters""",
    "countable": """apples; marbles; stickers; pencils; cupcakes; trading cards; books; seashells; cookies; stamps;
        balloons; tomatoes; coins; postcards; beads; eggs; oranges; toy cars; notebooks; flowers""",
    "priced_item": """notebooks; movie tickets; sandwiches; bus passes; candles; plants; comic books; scarves;
        cinema snacks; bags of coffee; T-shirts; paperback books""",
    "worker": "workers; machines; painters; printers; volunteers; bakers",
    "recipe_ing": "flour; sugar; milk; butter; rice; oats; cheese",
    "numlist": """{1..99}, {1..99}, {1..99}, {1..99}, {1..99}; {1..99}, {1..99}, {1..99}, {1..99}, {1..99},
        {1..99}; {1..99}, {1..99}, {1..99}, {1..99}, {1..99}, {1..99}, {1..99}""",
    "fruit": """apple; banana; mango; cherry; pear; kiwi; grape; peach; plum; lemon; pineapple; papaya""",
    "vegetable": """carrot; potato; spinach; onion; broccoli; celery; cucumber; lettuce; radish; leek; beet""",
    "animal": """dolphin; eagle; crocodile; salmon; bat; penguin; frog; shark; whale; lizard; owl; trout;
        kangaroo; turtle; seal; parrot; cobra; tuna; elephant; ostrich""",
    "snippet_lang": "Python; Python; JavaScript; Java; Python; SQL",
    # --- decorations -------------------------------------------------------------------------------------
    "context": """I'm {role} and I {role_ctx}.; I'm {role}, and I {role_ctx}.; As {role}, I {role_ctx}.;
        Context: this is for {ctx_for}.; Some background: I {role_ctx}.; This is for {ctx_for}.;
        I'm {role}. This is for {ctx_for}.; Quick question from {role}.; I work as {role} in {city}.;
        My {relation} asked me about this, and I {role_ctx}.; Our team is preparing {ctx_for}.;
        I run {business} and I {role_ctx}.; Background: {audience} will read this.""",
    "role_ctx": """need something I can use this week; have very little free time;
        am preparing a workshop for my colleagues; want to share this with my team;
        am trying to explain this to my family; have to present this on {weekday}; am new to this topic;
        want to post this in a community newsletter; am working with a tight budget;
        am writing a guide for beginners; keep getting conflicting advice online;
        want to get this right before {month}; have been stuck on this for days; need to convince my boss;
        am putting together a reading list; only have about {5..30} minutes; am not a native English speaker;
        want to turn this into a short talk""",
    "ctx_for": """a school assignment; a company newsletter; a team meeting; a community workshop;
        a blog aimed at beginners; a training course for new staff; a local radio segment; a class I teach;
        a talk at a public library; an internal wiki page; a parent-teacher evening; a grant application;
        a podcast episode; a town hall meeting; an onboarding handbook; a university seminar;
        a volunteer orientation; a pitch to investors; a weekend workshop in {city}""",
    "suffix": """Keep it under {40..250} words.; Use bullet points.; Use a {tone} tone.;
        Include at least one concrete example.; Avoid technical jargon.; Format the answer as a numbered list.;
        Explain your reasoning briefly.; End with a short summary.; Make it suitable for a general audience.;
        Limit your answer to {2..6} sentences.; Write it in plain English.; Add a catchy title.;
        Mention one common mistake to avoid.; Cite at least one reputable source.; Respond in {language}.;
        Do not use more than {3..8} bullet points.; Keep the language simple.;
        Include a short list of key takeaways at the end.; Please be specific.; Assume I know nothing about it.;
        Write it as a table.; Start with a one-sentence answer.; Use British spelling.;
        Add a fun fact at the end.; Include a short example from {country}.; Keep it positive.;
        Finish with a question for the reader.; Mention any costs involved.; Avoid overused phrases.""",
    "explain_how": """using an everyday analogy; in simple terms; in under 100 words; without technical jargon;
        in three short sentences; with a concrete example; as if you were a friendly tutor; step by step;
        using a sports analogy; using a cooking analogy; and mention one common misconception;
        and why it matters in daily life; with two real-world examples; in a way that sparks curiosity""",
    "aspect": """cost; safety; long-term value; environmental impact; ease of learning; performance;
        risk and return; everyday practicality; health benefits; historical significance; scalability;
        flexibility; maintenance; popularity""",
    "compare_pair": """stocks and bonds; renting and buying a home; cats and dogs as pets; Python and JavaScript;
        nuclear and solar power; capitalism and socialism; mitosis and meiosis; weather and climate;
        viruses and bacteria; a Roth IRA and a traditional IRA; baking soda and baking powder; TCP and UDP;
        SQL and NoSQL databases; classical and operant conditioning; the Senate and the House of Representatives;
        a crocodile and an alligator; espresso and drip coffee; hybrid and fully electric cars;
        public and private schools; term and whole life insurance; aerobic and anaerobic exercise;
        the Renaissance and the Baroque period; Stoicism and Epicureanism; a sole proprietorship and an LLC;
        civil law and criminal law; weightlifting and yoga; e-readers and paper books;
        trains and planes for travel in Europe; Impressionism and Expressionism; {city} and {city#2};
        {prog_lang} and {prog_lang#2}; {sport} and {sport#2}; {famous_person} and {famous_person#2};
        {country} and {country#2} as travel destinations; learning {language} and learning {language#2};
        a credit card and a debit card; machine learning and traditional statistics; frogs and toads;
        a hurricane and a tornado; empathy and sympathy; a virus and a worm in computer security;
        leasing and buying a car; butter and margarine; a startup and a small business""",
    # --- added composite pools -------------------------------------------------------------------------
    "subject": """{topic}; {topic}; {topic}; the impact of {topic} on {affected}; the role of {topic} in {domain};
        the future of {topic}; {topic} in {country}; the economics of {topic}; {topic} and {affected};
        the history of {topic}; public attitudes toward {topic}; {topic} in {domain}""",
    "affected": """small businesses; teenagers; rural communities; public health; the environment;
        local economies; family life; schools; factory workers; older adults; big cities; the housing market;
        developing countries; mental health; local democracy; personal privacy; farmers; college students;
        working parents; the tourism sector; public transport; wildlife; hospitals; small towns""",
    "domain": """modern medicine; everyday life; the workplace; primary education; urban planning; agriculture;
        international trade; the arts; professional sports; journalism; scientific research; retail;
        local government; higher education; the food industry""",
    "resume_line": """Helped with {skill}; Did {skill} for the team; Was responsible for {skill};
        Worked on {skill} projects at {company_name}; Managed a team of {2..12} people; Answered customer emails;
        Organized events for {20..500} guests; Made reports every week; Trained new hires on {skill};
        Was in charge of the {org_unit} budget; Fixed bugs in the company website""",
    "exam_why": """the exam is next week; I need it for a project; my study group is lost too;
        it keeps coming up at work; I want to help my kid with homework""",
    "exam_when": "next week; on Friday; tomorrow morning; in two days; at the end of the month",
    "concept_followup": """why does it matter; how is it used in practice; what is a good example of it;
        who first described it; why do people find it confusing; how has our understanding of it changed;
        what are its limitations; where might I encounter it in everyday life""",
    "idea_constraint": """that cost less than ${10..200}; that work indoors; that take under an hour;
        that involve everyone; with a sustainability angle; that can be done remotely;
        that suit a small budget; for a group of {5..30} people; that need no preparation;
        that work in bad weather""",
    "goal_ctx": """without spending money; in under a month; as a busy parent; while working full-time;
        on a small budget; in a small town; at a large company; starting today; with a disability;
        after retiring""",
    "ctx_before": """making a decision; voting; investing; starting a new job; moving abroad;
        talking to a doctor; signing a contract; buying a house""",
    "howto_ctx": """without any special tools; on a tight budget; as quickly as possible; in a small apartment;
        for the first time; safely; with kids around; in cold weather; without hiring a professional;
        in under an hour""",
    "rect_thing": "garden; room; parking lot; swimming pool; classroom; warehouse; field; patio",
    "sql_filter": """for customers in {country}; during {2015..2024}; excluding cancelled orders;
        and sort the result by date; for the last {2..12} months; grouped by region;
        using a window function; without using subqueries; and return at most {5..50} rows;
        for premium members only; where the status is pending; in the {city} store;
        for orders above ${50..500}""",
    "email_purpose": """asking for {request_obj}; requesting {request_obj}; following up on {followup_obj};
        apologizing for {apology_obj}; complaining about {complaint_obj}; thanking them for {thanks_obj};
        announcing {announcement}; inviting them to {invite_event}; declining {decline_obj};
        confirming {confirm_obj}; reminding them about {reminder_obj}; explaining {explain_obj};
        asking about {request_obj}; sharing an update on {explain_obj}""",
    "request_obj": """an extension on the rent; a deadline extension for a term paper; a letter of recommendation;
        a day off next {weekday}; feedback on a proposal; a refund for a cancelled flight; a raise;
        an update on an order; a meeting next week; permission to work remotely on {weekday}s;
        a copy of the lease; a quote for {2..50} units; more time to review the contract""",
    "followup_obj": """a job interview last {weekday}; an unpaid invoice; a proposal sent in {month};
        a conversation at the conference; a delayed shipment; a pending insurance claim""",
    "apology_obj": """missing a meeting; a late delivery; a billing mistake; a rude comment in a meeting;
        forgetting to reply; a delay in the project""",
    "complaint_obj": """a damaged delivery; noise from the apartment upstairs; a broken heater;
        an incorrect bill; poor customer service; a cancelled reservation""",
    "thanks_obj": """their mentorship; a great workshop; their help with a move; a generous donation;
        a successful partnership; a quick repair""",
    "invite_event": """a product launch; a retirement party on {month} {1..28}; a charity dinner;
        a team offsite; a panel discussion about {topic}; an open house""",
    "decline_obj": """a job offer; a speaking invitation; a wedding invitation; a partnership proposal;
        a request for a discount""",
    "confirm_obj": """the details of an event on {month} {1..28}; a booking for {2..20} people;
        the new project timeline; the agenda for {weekday}""",
    "reminder_obj": "an unpaid invoice; a deadline on {weekday}; the team lunch; a missing signature",
    "explain_obj": """a delay in shipping; a change in opening hours; a new pricing plan;
        why a request was rejected; a schedule change""",
}

# Raw entries (code) are used verbatim: they may contain grammar metacharacters.
_RAW_POOLS: dict[str, tuple[str, ...]] = {
    "snippet": (
        "def average(nums): return sum(nums) / len(nums) - 1",
        "for i in range(len(items)): if items[i] = target: return i",
        "def is_even(n): return n % 2 == 1",
        "total = 0; for x in prices: total =+ x; print(total)",
        "def greet(name): print('Hello, ' + name) return name.upper",
        "let sum = 0; for (let i = 1; i <= arr.length; i++) { sum += arr[i]; }",
        "SELECT name, COUNT(*) FROM orders WHERE COUNT(*) > 5 GROUP BY name;",
        "def fib(n): return fib(n - 1) + fib(n - 2)",
        "while count < 10: print(count)",
        "def last(lst): return lst[len(lst)]",
        "if (user.age > 18 || user.age == 18 && user.verified) { allow(); }",
        "words = sentence.split(); words.sort(reverse=True); print(words[0:3])",
        "def merge(a, b): a.update(b); return a",
        "public int max(int[] xs) { int m = 0; for (int x : xs) if (x > m) m = x; return m; }",
        "result = [x * 2 for x in range(10) if x % 2 = 0]",
        "def count_words(text): return len(text.split(' '))",
        "const unique = (arr) => arr.filter((x, i) => arr.indexOf(x) !== i);",
        "def safe_divide(a, b): try: return a / b except: pass",
    ),
}

_ZIPF_POOL = 0.3  # exponent for slot pools
_ZIPF_FAMILY = 0.55  # exponent for task families
_ZIPF_TEMPLATE = 0.3  # exponent for phrasings within a family

# Task families, most frequent first: (name, decorate, phrasings). ``decorate`` allows a leading context
# sentence, trailing generic constraints and a politeness prefix.
_FAMILIES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    (
        "explain",
        True,
        (
            "Explain {concept} to {audience}[ {explain_how}|].",
            "[Explain|Break down|Walk me through] [why|how] {phenomenon}[, {explain_how}|][ for {audience}|].",
            "[Describe|Explain|Summarize] the [main idea|basic principle|key idea|intuition] behind {concept}"
            "[ in {2..5} sentences|][ for {audience}|].",
            "Give [a simple|an intuitive|a clear|a short|a beginner-friendly] explanation of {concept}[ {explain_how}|]"
            "[ for {audience}|].",
            "How would you explain {concept} to {audience}[ {explain_how}|]?",
            "[Can you help me understand|I'm struggling with|I don't get] {concept}. [I'm {audience} and it confuses"
            " me.|I keep mixing it up with {concept#2}.|My textbook makes it sound harder than it is.|I have an exam"
            " on it {exam_when}.|Where should I start?|What is the one thing I should understand first?|Our"
            " teacher skipped it, and {exam_why}.]",
            "What is {concept}[, and {concept_followup}|]?",
            "I'm {audience}. [What exactly is|Could you demystify|How should I think about] {concept}?",
        ),
    ),
    (
        "list_ideas",
        True,
        (
            "List {n} {idea_kind} for {idea_target}[ {idea_constraint}|].",
            "[Brainstorm|Come up with|Suggest|Generate] {n} [creative|practical|low-cost|unusual|fun|original|]"
            " {idea_kind} for {idea_target}[ {idea_constraint}|].",
            "Give me {n} [tips|pieces of advice|practical tips|quick tips] [for|on] {tip_topic}[ for {audience}|].",
            "What are {n} [ways|effective ways|simple ways|proven strategies|creative ways] to {goal}[ {goal_ctx}|]?",
            "Name {n} {category_items}[ and briefly describe each|, with one fact about each|, ranked by popularity|].",
            "I need {n} {idea_kind} for {idea_target}. [Nothing too expensive, please.|They should work for all"
            " ages.|Make them easy to organize.|We only have {1..4} hours.|The group is about {5..40} people.|Avoid"
            " anything that needs special equipment.|Keep them inclusive.]",
            "[Help me think of|I'm trying to think of|We need] {n} {idea_kind} for {idea_target}[ {idea_constraint}|].",
        ),
    ),
    (
        "poem",
        True,
        (
            "Write a {poem_form} about {poem_topic}[ {poem_constraint}|].",
            "[Compose|Write|Create] a {poem_form} [that captures|that celebrates|inspired by|reflecting on]"
            " {poem_topic}[ for {occasion}|].",
            "Write a [short|humorous|gentle|sad|] poem [in the voice of|from the point of view of|narrated by]"
            " {pov_thing}[ {poem_constraint}|].",
            "Create a {poem_form} for {occasion}[ that mentions {poem_topic}|][ {poem_constraint}|].",
            "Write [song lyrics|a short verse|an acrostic poem|a rhyming toast] about {poem_topic} for {occasion}.",
            "I'd love a {poem_form} about {poem_topic} and {poem_topic#2}[ {poem_constraint}|].",
        ),
    ),
    (
        "qa",
        True,
        (
            "[What caused|What led to|What triggered|What were the main causes of] {historical_event}[, and could it"
            " have been avoided|, according to historians|, and which cause mattered most|]?",
            "[Who was {famous_person}|Give me a short bio of {famous_person}|Why is {famous_person} still"
            " remembered][, and what did they achieve|, and how did they change {domain}|]?",
            "[What do people often get wrong about|What are the most common misconceptions about|Which myths"
            " surround] {subject}[, and where do they come from|, and how can they be corrected|]?",
            "How has {subject} changed [over the last {5..50} years|since the {195..201}0s|in the past decade|during"
            " our lifetime]?",
            "What are the biggest challenges facing the {industry} industry [today|in the next decade|in {country}]?",
            "What is the capital of {country}, and [what is it known for|what should a first-time visitor see|how"
            " did it become the capital]?",
            "Why is {subject} [controversial|important|getting so much attention|hard to regulate|misunderstood]"
            "[ right now|]?",
            "What should {audience} know about {subject}[ before {ctx_before}|]?",
            "What does the research say about {subject}?",
        ),
    ),
    (
        "rewrite",
        False,
        (
            "Rewrite [the following sentence|this sentence|this] [to sound more {tone}|in a more {tone} tone|for"
            ' {audience}]: "{sentence}"',
            "Paraphrase [this|the following] sentence[ without changing its meaning| in plain English| in fewer"
            " words|]: {sentence}",
            "Make this sentence [more concise|clearer|less wordy|more formal|more polite|easier to read|more vivid]:"
            " {sentence}",
            "Change the following sentence [into the passive voice|into the active voice|into the past tense|into"
            " the future tense|into a question|into reported speech]: {sentence}",
            "Edit this text [for clarity|to fix any errors|to remove redundancy|so it flows better]: {sentence}"
            " {sentence#2}",
            'Rewrite "{sentence}" [so a child could understand it|as a headline|in {3..8} words or fewer|as a formal'
            " announcement].",
        ),
    ),
    (
        "email",
        True,
        (
            "Write [an email|a short email|a polite email|a formal email|a friendly email|a quick note] to"
            " {recipient} {email_purpose}.",
            "Draft [an email|a message|a note] to {recipient} {email_purpose}[, and keep it under {80..200} words|"
            ", in a {tone} tone|].",
            "Compose a [professional|brief|warm|firm but polite] message to {recipient} {email_purpose}.",
            "Help me write an email {email_purpose}. It is addressed to {recipient}[ and I want to sound {tone}|].",
            "Write a {tone} reply to {recipient} who [asked about|complained about|thanked us for|wanted details"
            " on] {subject}.",
            "I need to email {recipient} {email_purpose}. [Can you draft it for me?|What should I say?|Please keep"
            " it short.|How do I start?]",
        ),
    ),
    (
        "code",
        True,
        (
            "Write a {prog_lang} function that {code_task}[ {code_constraint}|].",
            "Implement a function in {prog_lang} [that|which] {code_task}[ {code_constraint}|].",
            "Create a {prog_lang} [script|class|module|utility] that {code_task}[ {code_constraint}|].",
            "How can I write [code|a function|a snippet] in {prog_lang} that {code_task}?",
            "Give an example of {prog_lang} code that {code_task}[ and explain how it works| and analyze its"
            " complexity|].",
            "Write a {prog_lang} [program|command-line tool] that {code_task}, and [add a few test cases|explain its"
            " time complexity|document every function|handle edge cases].",
            "I'm learning {prog_lang}. [Could you show me how to write|How do I write|Can you write] a function that"
            " {code_task}?",
        ),
    ),
    (
        "story",
        True,
        (
            "Write a short story about {character} who {story_event}[ {story_constraint}|].",
            "Tell a story [about|involving] {character} and {character#2}[ {story_constraint}|].",
            "Write the [opening scene|first page|prologue|opening lines] of a {genre} [novel|novella|short story]"
            " set in {story_setting}[ {story_constraint}|].",
            "Create a [bedtime|children's|spooky|funny] story about {character}[ who {story_event}|]"
            "[ {story_constraint}|].",
            'Continue this story in [a few|{3..10}] sentences: "{story_start}"',
            "Write a {genre} story set in {story_setting} in which {character} {story_event}.",
        ),
    ),
    (
        "compare",
        True,
        (
            "Compare {compare_pair}[ in terms of {aspect}|][ for {audience}|].",
            "What are the main differences between {compare_pair}[ for {audience}|]?",
            "Explain the [difference|key differences] between {compare_pair}[ {explain_how}|].",
            "Create a comparison table of {compare_pair} covering {aspect} and {aspect#2}.",
            "Which is better for {audience}: {compare_pair}? Consider {aspect} and {aspect#2}.",
            "How do {compare_pair} differ when it comes to {aspect}?",
        ),
    ),
    (
        "howto",
        True,
        (
            "Explain [step by step|in simple steps|] how to {howto}[ for {audience}|].",
            "What are the steps to {howto}[ {howto_ctx}|]?",
            "Write [a short guide|instructions|a beginner's guide|a checklist] on how to {howto}[ for {audience}|].",
            "How do I {howto}[ {howto_ctx}|]?",
            "I have never tried to {howto} before. [Walk me through it.|What do I need?|Where should I start?|What"
            " mistakes should I avoid?]",
            "Teach {audience} how to {howto}[ in {3..10} steps|][ {howto_ctx}|].",
        ),
    ),
    (
        "summarize",
        False,
        (
            "Summarize the following {text_kind} in {n} [sentences|bullet points]: {passage}",
            "[Write|Give] a [one-sentence|short|brief] summary of this {text_kind}: {passage}",
            "Summarize the [story|main argument|key ideas|central themes] of {book}[ in {2..5} sentences|]"
            "[ for {audience}|].",
            "Read the {text_kind} below and list [the key facts|the numbers mentioned|the main arguments]: {passage}",
            "Write a headline for this {text_kind}: {passage}",
            "What is the main point of this {text_kind}? {passage}",
        ),
    ),
    (
        "advice",
        True,
        (
            "My {relation} {situation_3p}. [How should I handle it?|What should I do?|How do I bring it up?|Am I"
            " overreacting?]",
            "[I need advice: |Advice needed: |]{situation_1p}. [What should I do?|Any suggestions?|How should I"
            " approach this?]",
            "What advice would you give to someone who {situation_2p}[ and {situation_2p#2}|]?",
            "{situation_1p}, and my {relation} {situation_3p}. Any advice?",
            "How can I support a {relation} who {situation_2p}?",
        ),
    ),
    (
        "describe",
        True,
        (
            "Describe {destination} to someone who has never [visited|been there][ in {3..6} sentences|].",
            "Describe a typical day in the life of a {job}[ in {city}|][ from their point of view|].",
            "Describe the [atmosphere|sounds and smells|mood] of {poem_topic}[ in vivid detail|][ for {audience}|].",
            "Describe {famous_person}'s [most important achievement|early life|legacy|biggest failure][ for"
            " {audience}|].",
            "Tell me about {destination}[: its history, culture, and food| in {month}| for {traveler}|].",
        ),
    ),
    (
        "pros_cons",
        True,
        (
            "What are the pros and cons of {choice}[ for {audience}|]?",
            "List the advantages and disadvantages of {choice}[ for {fin_person}|].",
            "Should I {decision}? [Give me the pros and cons.|Help me think it through.|What would you consider?]",
            "Weigh the benefits and risks of {choice} for {fin_person}.",
            "Is {choice} worth it for {audience}? Explain both sides.",
        ),
    ),
    (
        "persuade",
        True,
        (
            "Write a persuasive [essay|speech|op-ed|letter to the editor] arguing that {claim}[ for {audience}|].",
            "What are the arguments for and against {debate_topic}[ in {country}|]?",
            "Make the case [for|against] {debate_topic} in {3..6} sentences.",
            "Write a short debate opening statement [for|against] {debate_topic}[ aimed at {audience}|].",
            "Argue that {claim}, then write the strongest counterargument.",
        ),
    ),
    (
        "recipe",
        True,
        (
            "Give me a recipe for {dish}[ that is {diet_adj}|][ for {2..12} people|].",
            "How do I make {dish} [at home|from scratch|without an oven|in a slow cooker|for a crowd]?",
            "What can I cook with {ingredient}, {ingredient#2}, and {ingredient#3}?",
            "Suggest a {diet_adj} [dinner|lunch|breakfast] that uses {ingredient} and takes less than {10..60}"
            " minutes.",
            "Write step-by-step instructions for making {dish}[ for {2..12} people|][ with {ingredient}|].",
            "How can I make {dish} {diet_adj} without losing flavor?",
        ),
    ),
    (
        "product",
        True,
        (
            "Write a product description for {product}[ aimed at {audience}|][ in under {40..150} words|].",
            "Create [a catchy product description|marketing copy|an online store listing] for {product} that"
            " highlights {product_feature}.",
            "Write a short advertisement for {product} [that emphasizes|focusing on] {product_feature}"
            "[ for {audience}|].",
            "Come up with {n} selling points for {product}[ aimed at {audience}|].",
        ),
    ),
    (
        "trip",
        True,
        (
            "Plan a {2..14}-day [trip|itinerary|vacation] to {destination} for {traveler}[ on a budget of"
            " ${500..5000}|].",
            "Create an itinerary for a [weekend|week-long|three-day] visit to {destination}[ focused on"
            " {travel_focus}|][ for {traveler}|].",
            "What should {traveler} [pack|know|prepare] before [visiting|traveling to] {destination} in {month}?",
            "Suggest a {2..10}-day route through {country} for {traveler} who loves {travel_focus}.",
        ),
    ),
    (
        "define",
        True,
        (
            "Define the term {concept}[ for {audience}|].",
            'What does the word "{vocab_word}" mean? Use it in [a sentence|two example sentences].',
            'What is the meaning of the idiom "{idiom}"[, and where does it come from|]?',
            'Use the words "{vocab_word}" and "{vocab_word#2}" in [one sentence|a short story|a short dialogue].',
            'Give a synonym and an antonym for "{vocab_word}", [with example sentences|and explain the nuance|].',
        ),
    ),
    (
        "title",
        True,
        (
            "Suggest a [catchy|clever|short] title for [a blog post|an article|a research paper|a presentation|a"
            " podcast episode|a newsletter] about {subject}.",
            "Write a headline for a news story about how {finding}.",
            "Come up with {n} possible titles for a [book|talk|documentary] about {subject}.",
            "Propose a title [and subtitle|] for [an essay|a talk|a workshop|a report] on {subject}[ aimed at"
            " {audience}|].",
        ),
    ),
    (
        "history",
        True,
        (
            "[What were|Describe|Explain] the [main causes|long-term consequences|key turning points|economic"
            " effects] of {historical_event}[ for {audience}|].",
            "How did {historical_event} [change|affect|shape] [daily life for ordinary people|international trade|"
            "the role of women|modern science|the politics of the region]?",
            "Write a [short|brief] timeline of {historical_event}[ with {4..10} key dates|].",
            "Why is {historical_event} still [important|relevant|debated] today?",
            "Compare {historical_event} and {historical_event#2}.",
        ),
    ),
    (
        "hypothetical",
        True,
        (
            "What would happen if {hypothetical}?",
            "Imagine that {hypothetical}. [Describe how daily life would change.|What would it mean for"
            " {industry}?|Write a short story about it.]",
            "Speculate about the [consequences|economic effects|social effects] if {hypothetical}.",
            "If {hypothetical}, how would {affected} be affected?",
        ),
    ),
    (
        "slogan",
        True,
        (
            "[Come up with|Create|Write|Suggest] [a slogan|a catchy tagline|a memorable motto|an advertising"
            " slogan] for {business}[ that emphasizes {brand_value}|].",
            "Give me {n} tagline ideas for {business} in {city}.",
            "Write a mission statement for {business} built around {brand_value}[ and {brand_value#2}|].",
        ),
    ),
    (
        "math",
        False,
        (
            "{name} has {12..90} {countable} and gives {2..9} of them to each of {2..6} friends. How many"
            " {countable@} does {name@} have left?",
            "{name} [bought|picked up|ordered] {2..9} {priced_item} for ${2..40} each and paid with a ${50..100}"
            " bill. How much change [did {name@} get|should {name@} receive]?",
            "A train leaves {city} at {1..11}:{10..59} [a.m.|p.m.] and travels {60..900} km at {60..300} km/h."
            " [When does it arrive?|How long is the journey?]",
            "A [jacket|laptop|bicycle|sofa|pair of boots|tent|coffee machine] costs ${40..900} and is on sale for"
            " {10..60}% off. [What is the sale price?|How much do you save?]",
            "Solve for x: {2..12}x [+|-] {1..40} = {41..150}.",
            "Solve the system of equations {2..9}x + {1..9}y = {10..60} and {1..9}x - {1..9}y = {1..20}.",
            "A rectangular {rect_thing} is {3..40} meters long and {2..25} meters wide. [What is its area?|Find its"
            " perimeter.|How much fencing is needed around it?]",
            "If {2..12} {worker} can finish a job in {3..20} [hours|days], how long would it take {2..18} {worker@}?",
            "{name} invests ${500..20000} at {2..9}% interest compounded [annually|monthly|quarterly]. How much will"
            " {name@} have after {2..15} years?",
            "What is {12..99} [multiplied by|times] {11..99}?",
            "What is the probability of [rolling a sum of {2..12} with two dice|getting exactly {1..5} heads in"
            " {5..10} coin flips|pulling two aces in a row from a standard deck]?",
            "Find the derivative of f(x) = {2..9}x^{2..6} [+|-] {1..20}x [+|-] {1..50}.",
            "Compute the [mean, median, and mode|standard deviation|range and median] of {numlist}.",
            "{name} reads {10..60} pages a day. How many days will it take to finish a {200..900}-page book?",
            "What is {5..95}% of {20..2000}?",
            "Simplify the fraction {2..60}/{61..200}.",
        ),
    ),
    (
        "translate",
        False,
        (
            'Translate [the following sentence|this sentence|this] into {language}: "{sentence}"',
            'How do you say "{tr_phrase}" in {language}?',
            'Translate "{tr_phrase}" from English to {language}[ and explain any tricky words|].',
            'What is the {language} translation of "{sentence}"?',
            'Translate "{tr_phrase}" into {language} and {language#2}.',
        ),
    ),
    (
        "sql",
        False,
        (
            "Write a {sql_dialect} query to {sql_task}[ {sql_filter}|].",
            "Create a {sql_dialect} statement to {sql_task}[ {sql_filter}|].",
            "Given a database for {business}, write a {sql_dialect} query to {sql_task}.",
            "How would I {sql_task} using {sql_dialect}[ {sql_filter}|]?",
        ),
    ),
    (
        "interview",
        True,
        (
            "Generate {n} interview questions for a {job} position[ that test {skill}|].",
            "What questions should I ask when interviewing candidates for a {job} role at {business}?",
            "Prepare me for a {job} interview by asking me {n} [tough|common|behavioral] questions[ about {skill}|].",
            'How should a {job} answer the question ["What is your biggest weakness?"|"Why do you want this'
            ' job?"|"Where do you see yourself in five years?"|"Tell me about a conflict you resolved."]',
        ),
    ),
    (
        "lesson",
        True,
        (
            "Design a {30..90}-minute lesson plan on {school_topic} for {grade} students[ with a hands-on activity|].",
            "How can I teach {school_topic} to {grade} students [in a fun way|without a textbook|in one lesson|"
            "using games|when half the class is struggling|with almost no budget|outdoors]?",
            "Create {n} discussion questions about {school_topic} for a {grade} class.",
        ),
    ),
    (
        "schedule",
        True,
        (
            "Create a [weekly|daily|study|morning] schedule for {sched_person} who wants to {goal}.",
            "Help {sched_person} plan a week that balances work, rest, and time to {goal}.",
            "Make a {2..12}-week plan for {sched_person} to {goal}.",
        ),
    ),
    (
        "quiz",
        True,
        (
            "Create a {3..15}-question [multiple-choice|true-or-false|short-answer] quiz about {quiz_topic}.",
            "Write {n} quiz questions with answers about {quiz_topic}[ for {audience}|].",
            "Test my knowledge of {quiz_topic} with {n} questions of increasing difficulty.",
        ),
    ),
    (
        "recommend",
        True,
        (
            "Recommend {n} {rec_media} for someone who [enjoys|loves|is interested in] {interest}.",
            "I [like|love|am getting into] {interest}. What {rec_media} would you suggest?",
            "Suggest {n} {rec_media} about {subject} for {audience}.",
        ),
    ),
    (
        "dialogue",
        True,
        (
            "Write a [dialogue|conversation|short script] between {dialogue_pair} about {subject}.",
            "Write a conversation in which {dialogue_pair} disagree about {debate_topic}.",
            "Script a short role-play between {dialogue_pair} for practicing {skill}.",
        ),
    ),
    (
        "analogy",
        True,
        (
            "Come up with an analogy [to explain|that explains|for] {concept}[ to {audience}|].",
            "Create a metaphor [for|describing] {poem_topic}.",
            "Explain {concept} using an analogy [from|involving] {analogy_domain}.",
        ),
    ),
    (
        "fitness",
        True,
        (
            "Design a {2..12}-week {workout_kind} program for {fitness_person}.",
            "How can {fitness_person} [improve their endurance|build strength safely|stay consistent|avoid injuries]?",
            "Suggest a {10..60}-minute {workout_kind} routine for {fitness_person}.",
        ),
    ),
    (
        "finance",
        True,
        (
            "How should {fin_person} {fin_goal}?",
            "What is the best way for {fin_person} to {fin_goal}[ in {city}|]?",
            "Create a monthly budget for {fin_person} earning ${1500..9000} a month who wants to {fin_goal}.",
        ),
    ),
    (
        "legal",
        True,
        (
            "What rights does {legal_role} have when {legal_situation}[ in {country}|]?",
            "Explain {concept_law} in plain language for {audience}.",
            "What steps should {legal_role} take if {legal_situation}?",
        ),
    ),
    (
        "sports",
        True,
        (
            "Explain the [rules|scoring system|basic strategy] of {sport} to {audience}[ {explain_how}|].",
            "How can a [beginner|intermediate|amateur|youth|weekend] {sport} player improve their {sport_skill}?",
            "Describe a [training drill|warm-up routine|practice session] for a {sport} team that needs better"
            " {sport_skill}.",
        ),
    ),
    (
        "naming",
        True,
        (
            "Suggest {n} names for {naming_target}.",
            "What would be a good name for {naming_target}? Give {n} options.",
            "Brainstorm {n} [playful|elegant|short|memorable] names for {naming_target}.",
        ),
    ),
    (
        "social",
        True,
        (
            "Write a [tweet|LinkedIn post|Instagram caption|short social media post] announcing {announcement}.",
            "Draft {n} social media posts to promote {announcement}[ in a {tone} tone|].",
            "Write a short press release about {announcement}.",
        ),
    ),
    (
        "factcheck",
        True,
        (
            "Is it true that {myth}?[ Explain.| Explain why or why not.|]",
            "Many people believe that {myth}. Is this accurate?",
            "Debunk the myth that {myth}[ for {audience}|].",
        ),
    ),
    (
        "menu",
        True,
        (
            "Plan a [three-course|vegetarian|budget-friendly|seasonal] menu for {menu_event}.",
            "Create a {3..7}-day meal plan for {diet_person}.",
            "What should I serve at {menu_event} if some guests are {diet_adj}?",
        ),
    ),
    (
        "keywords",
        False,
        (
            "Generate {n} [keywords|SEO keywords|hashtags|tags] for [an article|a blog post|a talk] about {subject}.",
            "Extract the main keywords from this sentence: {sentence}",
            "List {n} hashtags for a post about {announcement}.",
        ),
    ),
    (
        "debug",
        False,
        (
            "Find and fix the bug in this {snippet_lang} code: {snippet}",
            "Explain what the following code does, line by line: {snippet}",
            "Why does this code not work as expected? {snippet}",
            "Review this code and suggest improvements: {snippet}",
            "Rewrite this snippet in {prog_lang}: {snippet}",
        ),
    ),
    (
        "regex",
        False,
        (
            "Write a regular expression that matches {regex_target}.",
            "Create a regex to validate {regex_target}, and explain each part.",
            "What regular expression would find {regex_target} in a long text?",
        ),
    ),
    (
        "sort",
        False,
        (
            "[Which one does not belong|Find the odd one out|Pick the item that does not fit][ and explain why|]:"
            " [{fruit}, {fruit#2}, {fruit#3}, {vegetable}|{animal}, {animal#2}, {fruit}, {animal#3}|{city}, {city#2},"
            " {country}, {city#3}|{language}, {language#2}, {sport}, {language#3}].",
            "Group the following into fruits and vegetables: {fruit}, {vegetable}, {fruit#2}, {vegetable#2},"
            " {fruit#3}, {vegetable#3}.",
            "Sort these numbers in [ascending|descending] order: {numlist}.",
            "[Rank|Order|Sort] [these|the following] cities by [population|area|average temperature|founding"
            " date|distance from the equator]: {city}, {city#2}, {city#3}[, {city#4}|].",
            "Classify each of these animals as a mammal, bird, reptile, or fish: {animal}, {animal#2}, {animal#3},"
            " {animal#4}, {animal#5}.",
            "Put these events in chronological order: {historical_event}, {historical_event#2}, {historical_event#3}.",
        ),
    ),
    (
        "convert",
        False,
        (
            "Convert {1..500} {unit_pair}.",
            "Convert {1..500} {unit_pair} and {1..500} {unit_pair#2}.",
            "How do I convert {unit_pair} in my head? Use {2..300} as an example.",
            "Write a formula to convert {unit_pair}, then apply it to {2..900}.",
        ),
    ),
    (
        "sentiment",
        False,
        (
            "Classify the sentiment of this [review|comment|tweet|customer message][ as positive, negative, or"
            ' neutral|]: "{review}"',
            'Positive or negative? "{review}"',
            "Determine the [tone|sentiment|emotional tone] of this [text|message|post]: {review}",
            "[Label|Tag] this feedback as [satisfied, unhappy, or mixed|positive, negative, or mixed]: {review}",
            "Rate the sentiment of the following [sentence|review] from 1 to 5: {review}",
            '[A customer wrote|Here is a review|Someone posted]: "{review}" How does the writer feel?',
        ),
    ),
    (
        "job_docs",
        True,
        (
            "[Write|Draft|Create] a job [posting|ad|description] for [a|an experienced|a junior|a part-time] {job}"
            " [at|for] {business}[ that values {brand_value}|].",
            "Write a cover letter for a {job} position at {company_name}[, highlighting {skill}|].",
            '[Improve|Strengthen|Punch up] this resume line for a {job} role: "{resume_line}"',
            "Write a LinkedIn summary for a {job} with {2..25} years of experience in {skill}.",
        ),
    ),
    (
        "extract",
        False,
        (
            "Extract all [the names of people|the locations|the organizations|the dates|the named entities] from"
            " the following [sentence|text]: {ner_sentence}",
            "[Identify|List|Find] the [people, places, and organizations|named entities|proper nouns] in:"
            " {ner_sentence}",
            "From the text below, pull out every [date and number|company name|city]. Text: {ner_sentence}",
            "Find all the numbers in this {text_kind} and say what each one refers to: {passage}",
        ),
    ),
    (
        "topic_classify",
        False,
        (
            'Classify the following headline as politics, sports, business, science, or health: "{headline}"',
            "What is the topic of this news headline: {headline}?",
            'Assign a category to this headline and explain your choice: "{headline}"',
            "Which section of a newspaper would this headline belong in? {headline}",
        ),
    ),
    (
        "grammar",
        False,
        (
            "Correct the [grammar|spelling and grammar|errors] in [this|the following] sentence: {bad_sentence}",
            "Fix the grammatical mistakes in this text: {bad_sentence}",
            "Proofread the following sentence and explain each correction: {bad_sentence}",
            "Find the errors in this sentence and rewrite it correctly: {bad_sentence}",
        ),
    ),
    ("trivia", False, ("{trivia}",)),
)

# Safe paraphrases applied to the fixed wording of templates: each occurrence becomes an alternation that
# keeps the original half of the time. This is what keeps same-template instructions apart.
_TEMPLATE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "write": ("compose", "draft"),
    "give me": ("provide", "share"),
    "short": ("brief", "quick"),
    "brief": ("short", "concise"),
    "simple": ("easy", "basic", "straightforward"),
    "main": ("key", "primary", "central"),
    "most common": ("most frequent", "most widespread", "most typical"),
    "important": ("significant", "essential"),
    "biggest": ("greatest", "most pressing"),
    "challenges": ("problems", "obstacles", "difficulties"),
    "misconceptions": ("myths", "misunderstandings"),
    "ways": ("methods", "strategies", "approaches"),
    "tips": ("suggestions", "pointers"),
    "suggest": ("recommend", "propose"),
    "create": ("make", "put together", "design"),
    "generate": ("create", "produce", "come up with"),
    "compare": ("contrast",),
    "students": ("learners", "pupils"),
    "someone": ("a person", "somebody"),
    "differences": ("distinctions",),
    "difference": ("distinction",),
    "benefits": ("advantages", "upsides"),
    "pros and cons": ("advantages and disadvantages", "upsides and downsides", "benefits and downsides"),
    "advice": ("guidance", "suggestions"),
    "story": ("tale",),
    "fun": ("engaging", "entertaining"),
    "typical": ("normal", "ordinary"),
    "explanation": ("overview", "description"),
    "guide": ("tutorial", "walkthrough"),
    "instructions": ("directions",),
    "what is": ("what's",),
    "how do i": ("how can I", "how should I", "what's the best way to"),
    "how can i": ("how do I", "what's a good way to"),
    "can you": ("could you", "would you"),
    "i need": ("I'm looking for", "I want"),
    "i'm": ("I am",),
    "the following": ("this", "the given"),
    "explain": ("describe",),
    "list": ("name", "enumerate"),
    "possible": ("potential",),
    "key": ("main", "essential"),
    "catchy": ("memorable", "punchy"),
    "clever": ("witty",),
    "effective": ("practical", "reliable"),
    "creative": ("imaginative", "inventive"),
    "practical": ("useful", "hands-on"),
    "unusual": ("offbeat", "uncommon"),
    "today": ("right now", "at the moment"),
    "a few": ("some", "a couple of"),
    "briefly": ("quickly", "concisely"),
    "email": ("message",),
    "help me": ("help me to",),
    "should i": ("do I need to", "ought I to"),
    "best": ("most effective", "smartest"),
    "step by step": ("one step at a time", "in detail"),
    "improve": ("strengthen", "boost"),
    "questions": ("prompts",),
}

_N_WORDS = """three; five; 3; 5; four; ten; 10; seven; two; six; 4; 7; eight; a few; several; 20; twelve;
    fifteen; 8; 6"""

# ----------------------------------------------------------------------------------------------------------
# Near-duplicate perturbations.
# ----------------------------------------------------------------------------------------------------------

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "write": ("compose", "draft", "create"),
    "compose": ("write", "draft"),
    "create": ("make", "generate", "build", "design"),
    "generate": ("create", "produce"),
    "explain": ("describe", "clarify"),
    "describe": ("explain", "outline"),
    "list": ("name", "enumerate"),
    "give": ("provide", "offer"),
    "provide": ("give", "offer"),
    "short": ("brief", "quick"),
    "brief": ("short", "concise"),
    "simple": ("easy", "basic", "plain"),
    "summarize": ("sum up", "condense"),
    "suggest": ("recommend", "propose"),
    "recommend": ("suggest",),
    "identify": ("find", "spot"),
    "find": ("identify", "locate"),
    "classify": ("categorize", "label"),
    "rewrite": ("rephrase", "reword"),
    "important": ("key", "crucial"),
    "main": ("key", "primary"),
    "ways": ("methods", "strategies"),
    "tips": ("suggestions", "pointers"),
    "ideas": ("suggestions", "options"),
    "story": ("tale", "narrative"),
    "help": ("assist",),
    "make": ("create",),
    "improve": ("boost", "enhance"),
    "reduce": ("cut", "lower"),
    "choose": ("pick", "select"),
    "use": ("utilize", "employ"),
    "uses": ("utilizes", "employs"),
    "show": ("demonstrate",),
    "friendly": ("warm",),
    "polite": ("courteous",),
    "funny": ("humorous", "amusing"),
    "quick": ("fast",),
    "good": ("great", "nice"),
    "answer": ("response", "reply"),
    "email": ("message", "note"),
    "beginner": ("novice", "newcomer"),
    "buy": ("purchase",),
    "bought": ("purchased",),
    "student": ("learner",),
    "students": ("learners", "pupils"),
    "children": ("kids",),
    "kids": ("children",),
    "people": ("individuals", "folks"),
    "following": ("given", "below"),
    "text": ("passage",),
    "compare": ("contrast",),
    "determine": ("figure out",),
    "benefits": ("advantages",),
    "disadvantages": ("downsides",),
    "common": ("frequent", "typical"),
    "several": ("a few", "some"),
    "design": ("create", "develop"),
    "trip": ("journey", "vacation"),
    "job": ("role", "position"),
    "position": ("role", "job"),
    "company": ("firm", "business"),
    "customer": ("client",),
    "detailed": ("thorough", "in-depth"),
    "concise": ("brief", "short"),
    "example": ("instance", "illustration"),
    "examples": ("instances",),
    "steps": ("stages",),
    "tell": ("inform",),
    "convert": ("change", "turn"),
    "calculate": ("compute", "work out"),
    "compute": ("calculate",),
    "solve": ("work out",),
    "function": ("method", "routine"),
    "program": ("application",),
    "query": ("statement",),
    "article": ("post", "essay"),
    "essay": ("article",),
    "plan": ("schedule", "program"),
    "big": ("large",),
    "small": ("little",),
    "sentence": ("line",),
    "mistakes": ("errors",),
    "errors": ("mistakes",),
    "home": ("house",),
    "fun": ("entertaining",),
    "best": ("ideal", "top"),
    "ask": ("request",),
    "new": ("fresh",),
    "quickly": ("fast",),
    "many": ("numerous",),
    "catchy": ("memorable",),
    "typical": ("usual", "normal"),
}
_PHRASE_SWAPS: tuple[tuple[str, str], ...] = (
    ("give me", "provide"),
    ("come up with", "think of"),
    ("what are", "list"),
    ("step by step", "step-by-step"),
    ("how to", "the best way to"),
    ("the following", "this"),
    ("a few", "some"),
    ("what is", "what's"),
    ("do not", "don't"),
    ("I am", "I'm"),
    ("it is", "it's"),
    ("does not", "doesn't"),
    ("I would", "I'd"),
    ("how do I", "how can I"),
    ("how can I", "how should I"),
    ("for someone who", "for a person who"),
    ("in terms of", "with regard to"),
    ("and explain", "and describe"),
    ("pros and cons", "advantages and disadvantages"),
)
_DROPPABLE = frozenset(
    _split_words(
        """very some short brief simple following please just really all any also your my this each main key new
        few quick detailed clear specific practical creative typical common most"""
    )
)
_FILLERS_FRONT = ("please", "briefly", "also", "quickly", "carefully", "just", "clearly", "simply", "now", "kindly")
_FILLERS_END = ("please", "in detail", "for me", "if possible", "briefly", "now", "concisely", "quickly", "too")
_IMPERATIVES = frozenset(
    _split_words(
        """write explain describe list give create compose generate suggest summarize rewrite translate compare
        classify identify name make design plan draft find provide tell recommend brainstorm come outline calculate
        convert solve implement develop prepare determine edit correct paraphrase extract sort rank analyze propose
        predict discuss define construct build estimate argue imagine speculate debunk group put test script
        review proofread fix weigh assign rate read change continue help enumerate summarise"""
    )
)
_POLITE = ("Please ", "Can you ", "Could you ", "I need you to ", "Help me ", "I'd like you to ")
_NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty")
_REORDER_WORDS = frozenset(_split_words("for in to with using about on without from by as at"))

_TOKEN_RE = re.compile(r"[a-z0-9]+")
_WRITE_A_PROGRAM_RE = re.compile(r"write\s+a\s+program(?![a-z])", re.IGNORECASE)
_LEX_RE = re.compile(r"(\{[^{}]*\}|\[|\]|\|)")
_REF_RE = re.compile(r"^(\w+)(#\d|@)?$")
_RANGE_RE = re.compile(r"^(\d+)\.\.(\d+)$")
_WORD_CORE_RE = re.compile(r"^([^A-Za-z0-9]*)([A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z])([^A-Za-z0-9]*)$")
_NUM_RE = re.compile(r"\d+")
_SPACES_RE = re.compile(r"\s+")
_SPACE_PUNCT_RE = re.compile(r"\s+([,.;:?!])")
_DOUBLE_PUNCT_RE = re.compile(r"([.?!])\.(?=\s|$)")
_ARTICLE_RE = re.compile(r"(^|[\s(\"])(an?|An?) (?=([\w-]+))")
_ART_END_RE = re.compile(r"(?:^|(?<=[\s(]))([Aa]n?) $")
_ACRONYM_AN = frozenset("AEFHILMNORSX")
_SYN_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_TEMPLATE_SYNONYMS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_A_BEFORE_VOWEL = ("uni", "use", "usu", "eu", "one", "once", "ukr", "uti", "ura", "ux")


def _tokens(text: str) -> list[str]:
    """Tokenize like rouge-score's default tokenizer (lowercase runs of [a-z0-9])."""
    return _TOKEN_RE.findall(text.lower())


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (bit-parallel, Hyyro 2004)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _f1(a: Sequence[str], b: Sequence[str]) -> float:
    if not a or not b:
        return 0.0
    return 2.0 * _lcs(a, b) / (len(a) + len(b))


def rouge_l_f1(a: str, b: str) -> float:
    """ROUGE-L F1 of two strings with rouge-score's default tokenization (no stemming)."""
    return _f1(_tokens(a), _tokens(b))


# ----------------------------------------------------------------------------------------------------------
# Grammar compilation.
# ----------------------------------------------------------------------------------------------------------


class _Ctx:
    """Per-instruction expansion state."""

    __slots__ = ("picks", "rnd")

    def __init__(self, rnd: Callable[[], float]) -> None:
        self.rnd = rnd
        self.picks: dict[str, list[str]] = {}


_Expand = Callable[[_Ctx], str]


def _zipf_cum(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k + 1) ** exponent for k in range(n)))


class _Pool:
    __slots__ = ("cum", "items", "last", "total", "values")

    def __init__(self) -> None:
        self.items: list[_Expand] = []
        self.values: list[str | None] = []  # constant entries, None where an entry must be expanded
        self.cum: list[float] = []
        self.total = 0.0
        self.last = 0

    def fill(self, items: list[_Expand | str], exponent: float) -> None:
        self.values = [e if isinstance(e, str) else None for e in items]
        self.items = [_const(e) if isinstance(e, str) else e for e in items]
        self.cum = _zipf_cum(len(items), exponent)
        self.total = self.cum[-1]
        self.last = len(items) - 1

    def pick(self, ctx: _Ctx) -> str:
        i = bisect.bisect_right(self.cum, ctx.rnd() * self.total)
        if i > self.last:
            i = self.last
        value = self.values[i]
        return value if value is not None else self.items[i](ctx)


def _const(text: str) -> _Expand:
    return lambda ctx: text


def _split_entries(src: str) -> list[str]:
    return [" ".join(e.split()) for e in src.split(";") if e.strip()]


class _Compiler:
    """Turns grammar strings into expansion closures bound to pools."""

    def __init__(self, pools: dict[str, _Pool], recorded: set[str]) -> None:
        self.pools = pools
        self.recorded = recorded
        self.fuzzy: set[int] = set()  # ids of paraphrase alternations (not identity-bearing slots)

    def parts(self, src: str) -> list[_Expand | str]:
        """Top-level parts of a template: literal strings and expansion closures."""
        toks = [t for t in _LEX_RE.split(src) if t]
        parts, pos = self._seq(toks, 0, top=True)
        if pos != len(toks):
            raise ValueError(f"unbalanced brackets in {src!r}")
        return parts

    def compile(self, src: str) -> _Expand:
        return self.join(self.parts(src))

    def _seq(self, toks: list[str], pos: int, *, top: bool) -> tuple[list[_Expand | str], int]:
        parts: list[_Expand | str] = []
        while pos < len(toks):
            tok = toks[pos]
            if tok in ("]", "|"):
                if top:
                    raise ValueError(f"stray {tok!r} in grammar")
                break
            if tok == "[" or tok.startswith("{"):
                fuzzy = False
                if tok == "[":
                    fn, pos, fuzzy = self._alt(toks, pos + 1)
                else:
                    fn = self._ref(tok[1:-1])
                    pos += 1
                last = parts[-1] if parts else None
                m = _ART_END_RE.search(last) if isinstance(last, str) else None
                if isinstance(last, str) and m:
                    # "a {x}" / "an [..]": choose the article from what is drawn
                    fn = _with_article(m.group(1), fn)
                    if m.start():
                        parts[-1] = last[: m.start()]
                    else:
                        parts.pop()
                parts.append(fn)
                if fuzzy:
                    self.fuzzy.add(id(fn))
                continue
            if parts and isinstance(parts[-1], str):
                parts[-1] += tok
            else:
                parts.append(tok)
            pos += 1
        return parts, pos

    def _alt(self, toks: list[str], pos: int) -> tuple[_Expand, int, bool]:
        options: list[_Expand] = []
        fuzzy = pos < len(toks) and toks[pos].startswith("~")
        if fuzzy:
            toks[pos] = toks[pos][1:]
        texts: list[str] = []
        while True:
            parts, pos = self._seq(toks, pos, top=False)
            options.append(self.join(parts))
            if not parts:
                texts.append("")
            elif len(parts) == 1 and isinstance(parts[0], str):
                texts.append(parts[0])
            if pos >= len(toks):
                raise ValueError("unterminated '['")
            if toks[pos] == "]":
                break
            pos += 1
        n = len(options)
        if len(texts) == n:  # only literal alternatives

            def choose(ctx: _Ctx) -> str:
                return texts[int(ctx.rnd() * n)]

            return choose, pos + 1, fuzzy

        def run(ctx: _Ctx) -> str:
            return options[int(ctx.rnd() * n)](ctx)

        return run, pos + 1, fuzzy

    @staticmethod
    def join(parts: list[_Expand | str]) -> _Expand:
        if not parts:
            return _const("")
        if len(parts) == 1:
            only = parts[0]
            return _const(only) if isinstance(only, str) else only
        fns = [_const(p) if isinstance(p, str) else p for p in parts]
        return lambda ctx: "".join([f(ctx) for f in fns])

    def _ref(self, spec: str) -> _Expand:
        m = _RANGE_RE.match(spec)
        if m:
            lo, span = int(m.group(1)), int(m.group(2)) - int(m.group(1)) + 1
            return lambda ctx: str(lo + int(ctx.rnd() * span))
        m = _REF_RE.match(spec)
        if not m or m.group(1) not in self.pools:
            raise ValueError(f"unknown grammar reference {{{spec}}}")
        name, mode = m.group(1), m.group(2)
        pick = self.pools[name].pick
        if mode == "@":

            def repeat(ctx: _Ctx) -> str:
                seen = ctx.picks.get(name)
                return seen[-1] if seen else pick(ctx)

            return repeat
        if mode is not None:

            def distinct(ctx: _Ctx) -> str:
                used = ctx.picks.setdefault(name, [])
                value = pick(ctx)
                for _ in range(20):
                    if value not in used:
                        break
                    value = pick(ctx)
                used.append(value)
                return value

            return distinct
        if name in self.recorded:

            def record(ctx: _Ctx) -> str:
                value = pick(ctx)
                ctx.picks.setdefault(name, []).append(value)
                return value

            return record
        return pick


class _Template:
    __slots__ = ("const_len", "fuzzy_pos", "id", "parts", "salts", "var_pos")

    def __init__(self, tid: int, parts: list[_Expand | str], fuzzy: set[int]) -> None:
        self.id = tid
        self.parts: list[_Expand] = [_const(p) if isinstance(p, str) else p for p in parts]
        # identity-bearing slots; paraphrase alternations are left out
        self.var_pos = [i for i, p in enumerate(parts) if not isinstance(p, str) and id(p) not in fuzzy]
        self.fuzzy_pos = [i for i, p in enumerate(parts) if not isinstance(p, str) and id(p) in fuzzy]
        # per-slot offsets that make additive slot hashes position- and template-specific
        self.salts = [_stable_hash(f"slot {tid} {j}") for j in range(len(self.var_pos) + 2)]
        self.const_len = sum(len(_tokens(p)) for p in parts if isinstance(p, str))


class _Family:
    __slots__ = ("cum", "decorate", "id", "name", "templates", "total")

    def __init__(self, fid: int, name: str, decorate: bool, templates: list[_Template]) -> None:
        self.id = fid
        self.name = name
        self.decorate = decorate
        self.templates = templates
        self.cum = _zipf_cum(len(templates), _ZIPF_TEMPLATE)
        self.total = self.cum[-1]


class _Grammar:
    __slots__ = ("context", "fam_cum", "fam_total", "families", "name_swaps", "suffix")

    def __init__(self) -> None:
        sources = dict(_POOLS)
        sources["n"] = _N_WORDS
        all_text = "\n".join([*sources.values(), *(t for _, _, ts in _FAMILIES for t in ts)])
        recorded = set(re.findall(r"\{(\w+)(?:#\d|@)\}", all_text))
        pools = {name: _Pool() for name in [*sources, *_RAW_POOLS]}
        comp = _Compiler(pools, recorded)
        for name, src in sources.items():
            entries = [comp.parts(e) for e in _split_entries(src)]
            pools[name].fill(
                [p[0] if len(p) == 1 and isinstance(p[0], str) else comp.join(p) for p in entries], _ZIPF_POOL
            )
        for name, raw in _RAW_POOLS.items():
            pools[name].fill(list(raw), _ZIPF_POOL)
        families: list[_Family] = []
        tid = 0
        for fam_name, decorate, texts in _FAMILIES:
            templates = []
            for text in texts:
                templates.append(_Template(tid, comp.parts(_paraphrasable(text)), comp.fuzzy))
                tid += 1
            families.append(_Family(len(families), fam_name, decorate, templates))
        self.families = families
        self.fam_cum = _zipf_cum(len(families), _ZIPF_FAMILY)
        self.fam_total = self.fam_cum[-1]
        self.context = comp.compile("{context}")
        self.suffix = comp.compile("{suffix}[ {suffix#2}|||]")
        # single-word proper nouns that a near-duplicate may swap for another of the same kind
        swaps: dict[str, tuple[str, ...]] = {}
        for pool in ("name", "surname", "city", "country", "language", "month", "weekday"):
            words = tuple(e for e in _split_entries(_POOLS[pool]) if e.isalpha())
            for w in words:
                swaps[w] = words
        self.name_swaps = swaps


@cache
def _grammar() -> _Grammar:
    return _Grammar()


# ----------------------------------------------------------------------------------------------------------
# Generation.
# ----------------------------------------------------------------------------------------------------------


def _article(word: str, capital: bool) -> str:
    """'a' or 'an' for the word that follows."""
    low = word.lower()
    if word[:1].isdigit():
        an = word[0] == "8" or re.match(r"1[18](?!\d)", word) is not None
    elif len(word) > 1 and word.isupper():
        an = word[0] in _ACRONYM_AN
    else:
        an = (low[:1] in ("a", "e", "i", "o", "u") and not low.startswith(_A_BEFORE_VOWEL)) or low.startswith(
            ("hour", "honest", "honor", "heir")
        )
    art = "an" if an else "a"
    return art.capitalize() if capital else art


def _with_article(art: str, fn: _Expand) -> _Expand:
    capital = art[0] == "A"

    def run(ctx: _Ctx) -> str:
        value = fn(ctx)
        if not value:
            return art + " "
        return f"{_article(value.split(' ', 1)[0], capital)} {value}"

    return run


def _paraphrasable(src: str) -> str:
    """Turn safe-to-paraphrase wording in a template's literal text into alternations."""

    def alternatives(m: re.Match[str]) -> str:
        word = m.group(0)
        alts = _TEMPLATE_SYNONYMS[word.lower()]
        if word[0].isupper():
            alts = tuple(a[0].upper() + a[1:] for a in alts)
        return "[~" + "|".join((word, word, *alts)) + "]"

    toks = _LEX_RE.split(src)
    return "".join(t if t.startswith("{") or t in ("[", "]", "|") else _SYN_RE.sub(alternatives, t) for t in toks)


def _finish(text: str) -> str:
    text = " ".join(text.split())
    if " ," in text or " ." in text or " ?" in text or " :" in text or " !" in text:
        text = _SPACE_PUNCT_RE.sub(r"\1", text)
    if ".." in text or "?." in text or "!." in text:
        text = _DOUBLE_PUNCT_RE.sub(r"\1", text)
    return text[:1].upper() + text[1:]


def _fix_articles(text: str) -> str:
    """Re-agree "a"/"an" with the next word after an edit."""
    return _ARTICLE_RE.sub(lambda m: f"{m.group(1)}{_article(m.group(3), m.group(2)[0] == 'A')} ", text)


def _acceptable(text: str) -> bool:
    """Passes selfinstruct's non-ROUGE filters: more than 3 words, starts alphanumeric, not "Write a program"."""
    return text.count(" ") >= 3 and text[0].isalnum() and _WRITE_A_PROGRAM_RE.match(text) is None


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _first_word(text: str) -> str:
    return text.split(" ", 1)[0].lower()


class _Generator:
    """Stateful generator: keeps what was emitted to avoid accidental near-duplicates among unique items."""

    # a fresh instruction is redrawn when it matches an earlier one of its template in all slots but one or
    # two and the resulting lower bound on their ROUGE-L F1 exceeds this
    _GUARD_F1 = 0.6
    _P_CONTEXT = 0.15
    _P_SUFFIX = 0.3
    _P_POLITE = 0.08

    def __init__(self, seed: int) -> None:
        self.g = _grammar()
        self.rng = random.Random(seed)
        self.rnd = self.rng.random
        self.ctx = _Ctx(self.rnd)
        self.out: list[str] = []
        self.seen: set[str] = set()
        self.guard: dict[int, int] = {}
        self.slot_info: dict[str, tuple[int, int, int]] = {}
        self.dominant: set[tuple[int, int]] = set()
        self.last_family = ""  # family of the last fresh instruction (for diagnostics)

    # --- unique instructions ---------------------------------------------------------------------------

    def _draw(self, fam: _Family | None = None) -> tuple[str, _Family, _Template, list[str]]:
        g, rnd, ctx = self.g, self.rnd, self.ctx
        if fam is None:
            fam = g.families[min(bisect.bisect_right(g.fam_cum, rnd() * g.fam_total), len(g.families) - 1)]
        tmpl = fam.templates[min(bisect.bisect_right(fam.cum, rnd() * fam.total), len(fam.templates) - 1)]
        ctx.picks.clear()
        parts = [p(ctx) for p in tmpl.parts]
        core = _finish("".join(parts))
        pre = suf = polite = ""
        if fam.decorate:
            if rnd() < self._P_POLITE and _first_word(core) in _IMPERATIVES:
                polite = _POLITE[int(rnd() * len(_POLITE))]
                core = polite + _lower_first(core)
                if polite.startswith("C") and core.endswith("."):
                    core = core[:-1] + "?"
            if rnd() < self._P_CONTEXT:
                pre = g.context(ctx)
            if rnd() < self._P_SUFFIX:
                suf = g.suffix(ctx)
        if pre:
            core = f"{pre} {core}"
        text = f"{core} {suf}" if suf else core
        self.last_family = fam.name
        var = [parts[i] for i in tmpl.var_pos]
        if fam.decorate:
            var.append(f"{polite}|{pre}|{suf}" if polite or pre or suf else "")
        if tmpl.fuzzy_pos:  # all paraphrased wording as one slot
            var.append("|".join([parts[i] for i in tmpl.fuzzy_pos]))
        return text, fam, tmpl, var

    def _slot_info(self, value: str) -> tuple[int, int, int]:
        """(hash of the value with numbers masked, token count, numeric token count), cached."""
        info = self.slot_info.get(value)
        if info is None:
            toks = _TOKEN_RE.findall(value.lower())
            nums = sum(1 for t in toks if t[0].isdigit() or t[-1].isdigit())
            info = (_stable_hash(_NUM_RE.sub("#", value) if nums else value), len(toks), nums)
            self.slot_info[value] = info
        return info

    def _clashes(self, fam: _Family, tmpl: _Template, var: list[str]) -> list[tuple[int, int]] | None:
        """Guard keys of a drawn instruction, or None if it is a slot-swap variant of an earlier one.

        Two draws of one template that agree on all slots but one (or two content slots) share every other
        token, which bounds their ROUGE-L F1 from below; numbers are masked in the keys and counted as
        differing. Within a family, a slot value that makes up most of both instructions also clashes.
        """
        slot_info, salts = self._slot_info, tmpl.salts
        infos = [slot_info(v) for v in var]
        hashes = [info[0] + salt for info, salt in zip(infos, salts, strict=False)]
        lens = [info[1] for info in infos]
        total = tmpl.const_len + sum(lens)
        nums = sum([info[2] for info in infos])
        whole = sum(hashes)
        pairs = itertools.combinations
        keys = [whole - h for h in hashes] + [whole - a - b for a, b in pairs(hashes, 2)]
        sizes = lens + [a + b for a, b in pairs(lens, 2)]
        get, limit = self.guard.get, self._GUARD_F1
        others = list(map(get, keys))
        if others.count(None) < len(others):
            for n, other in zip(sizes, others, strict=True):
                if other is not None:
                    rest = total - n
                    if 2 * (rest - nums) > limit * (2 * rest + n + other):
                        return None
        updates = [(key, n) for key, n, other in zip(keys, sizes, others, strict=True) if other is None or n < other]
        fid, dominant = fam.id, self.dominant
        for info in infos:
            if 20 * info[1] > 9 * total:  # a dominant slot (over 45% of the tokens)
                if (fid, info[0]) in dominant:
                    return None
                updates.append((-1 - fid, info[0]))
        return updates

    def unique(self, fam: _Family | None = None) -> str:
        """A fresh instruction that is not an obvious slot-swap variant of an earlier one."""
        guard, seen = self.guard, self.seen
        for attempt in itertools.count():
            text, family, tmpl, var = self._draw(fam)
            if text in seen or not _acceptable(text):
                if attempt > 200:  # this family has run dry
                    fam = None
                continue
            if attempt >= 50:  # vocabulary exhausted: accept anything new
                return text
            keys = self._clashes(family, tmpl, var)
            if keys is not None:
                for key, n in keys:
                    if key < 0:  # a dominant slot: (-1 - family id, value hash)
                        self.dominant.add((-1 - key, n))
                    else:
                        guard[key] = n
                return text
        raise AssertionError("unreachable")

    # --- near-duplicates -------------------------------------------------------------------------------

    def _op_synonym(self, words: list[str]) -> list[str] | None:
        cands = []
        for i, w in enumerate(words):
            m = _WORD_CORE_RE.match(w)
            if m and m.group(2).lower() in _SYNONYMS:
                cands.append((i, m))
        if not cands:
            return None
        i, m = self.rng.choice(cands)
        core = m.group(2)
        new = self.rng.choice(_SYNONYMS[core.lower()])
        if core[0].isupper():
            new = new[0].upper() + new[1:]
        words[i] = m.group(1) + new + m.group(3)
        return words

    def _op_insert(self, words: list[str]) -> list[str] | None:
        if len(words) < 3:
            return None
        if self.rnd() < 0.5 and words[0].lower() in _IMPERATIVES:
            words.insert(1, self.rng.choice(_FILLERS_FRONT))  # "Write briefly ...", "Explain simply ..."
            return words
        last = words[-1]
        end = len(last.rstrip(".?!:\"'"))
        if end == 0:
            return None
        words[-1] = last[:end] + " " + self.rng.choice(_FILLERS_END) + last[end:]
        return words

    def _op_delete(self, words: list[str]) -> list[str] | None:
        if len(words) < 5:
            return None
        cands = [i for i in range(1, len(words) - 1) if words[i].lower() in _DROPPABLE]
        if not cands or self.rnd() < 0.1:
            cands = [i for i in range(1, len(words) - 1) if _WORD_CORE_RE.match(words[i])]
        if not cands:
            return None
        del words[self.rng.choice(cands)]
        return words

    def _op_number(self, words: list[str]) -> list[str] | None:
        cands = [i for i, w in enumerate(words) if _NUM_RE.search(w) or w.lower().strip(".,?") in _NUMBER_WORDS]
        if not cands:
            return None
        i = self.rng.choice(cands)
        w = words[i]
        m = _NUM_RE.search(w)
        if m:
            v = int(m.group())
            new = v
            while new == v:
                new = self.rng.randint(max(1, v // 2), v * 2 + 3)
            words[i] = w[: m.start()] + str(new) + w[m.end() :]
        else:
            core = w.lower().strip(".,?")
            new_word = self.rng.choice([n for n in _NUMBER_WORDS if n != core])
            words[i] = w.lower().replace(core, new_word)
        return words

    def _op_name(self, words: list[str]) -> list[str] | None:
        swaps = self.g.name_swaps
        cands = []
        for i, w in enumerate(words):
            m = _WORD_CORE_RE.match(w)
            if m and m.group(2) in swaps:
                cands.append((i, m))
        if not cands:
            return None
        i, m = self.rng.choice(cands)
        core = m.group(2)
        new = core
        while new == core:
            new = self.rng.choice(swaps[core])
        words[i] = m.group(1) + new + m.group(3)
        return words

    def _op_reorder(self, words: list[str]) -> list[str] | None:
        text = " ".join(words)
        end = text[-1] if text[-1] in ".?!" else ""
        body = text[:-1] if end else text
        if ", " in body:
            head, _, tail = body.partition(", ")
            if len(tail.split()) < 2 or '"' in body:
                return None
            new = f"{tail[:1].upper()}{tail[1:]}, {_lower_first(head)}{end}"
            return new.split(" ")
        bwords = body.split(" ")
        cands = [i for i in range(len(bwords) // 2, len(bwords) - 1) if bwords[i].lower() in _REORDER_WORDS]
        if not cands or ":" in body or '"' in body:
            return None
        i = self.rng.choice(cands)
        moved = " ".join(bwords[i:])
        rest = " ".join(bwords[:i])
        new = f"{moved[:1].upper()}{moved[1:]}, {_lower_first(rest)}{end}"
        return new.split(" ")

    def _op_phrase(self, words: list[str]) -> list[str] | None:
        text = " ".join(words)
        low = text.lower()
        cands = [(a, b) for a, b in _PHRASE_SWAPS if a.lower() in low] + [
            (b, a) for a, b in _PHRASE_SWAPS if b.lower() in low
        ]
        if not cands:
            return None
        a, b = self.rng.choice(cands)
        i = low.index(a.lower())
        repl = b[0].upper() + b[1:] if text[i].isupper() else b
        return (text[:i] + repl + text[i + len(a) :]).split(" ")

    def _op_polite(self, words: list[str]) -> list[str] | None:
        if words[0].lower() not in _IMPERATIVES:
            return None
        prefix = self.rng.choice(_POLITE)
        text = prefix + _lower_first(" ".join(words))
        if prefix.startswith("C") and text.endswith("."):
            text = text[:-1] + "?"
        return text.split(" ")

    def _op_surface(self, words: list[str]) -> list[str] | None:
        text = " ".join(words)
        r = self.rnd()
        if r < 0.3:
            text = _lower_first(text)
        elif r < 0.55 and text[-1] in ".?!":
            text = text[:-1]
        elif r < 0.7 and text.endswith("."):
            text = text[:-1] + "!"
        elif r < 0.85:
            text = text.lower()
        else:
            text = text.replace(",", "").replace('"', "'")
        return text.split(" ")

    def near_duplicate(self) -> str:
        """Perturb a random earlier instruction; most results keep ROUGE-L F1 > 0.7 with their source."""
        rng = self.rng
        ops = (
            (self._op_synonym, 3.0),
            (self._op_insert, 2.0),
            (self._op_delete, 2.0),
            (self._op_number, 1.5),
            (self._op_name, 1.0),
            (self._op_reorder, 0.8),
            (self._op_phrase, 1.2),
            (self._op_polite, 0.8),
            (self._op_surface, 1.5),
        )
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        text = ""
        for _attempt in range(8):
            src = self.out[rng.randrange(len(self.out))]
            words = src.split(" ")
            n_ops = rng.choices((1, 2, 3, 4), (0.35, 0.35, 0.2, 0.1))[0]
            applied = 0
            for _ in range(12):
                if applied >= n_ops:
                    break
                new = rng.choices(funcs, weights)[0](list(words))
                if new is not None and new != words:
                    words = new
                    applied += 1
            text = _fix_articles(" ".join(words))
            if text == src or text in self.seen or not _acceptable(text):
                continue
            if _f1(_tokens(src), _tokens(text)) > 0.7 or self.rnd() < 0.6:
                return text
        return text

    def generate(self, n: int, dup_share: float) -> list[str]:
        rnd = self.rnd
        for i in range(n):
            text = self.near_duplicate() if i > 0 and rnd() < dup_share else ""
            if not text or text in self.seen:
                text = self.unique()
            self.out.append(text)
            self.seen.add(text)
        return self.out


def generate_instructions(n: int, *, dup_share: float = 0.1, seed: int = 0) -> list[str]:
    """n instructions; about dup_share of them are near-duplicates (ROUGE-L F1 > 0.7) of an earlier one."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= dup_share < 1.0:
        raise ValueError("dup_share must be in [0, 1)")
    return _Generator(seed).generate(n, dup_share)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, help="number of instructions")
    parser.add_argument("--dup-share", type=float, default=0.1, help="share of near-duplicates (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("jsonl", "txt"), default="jsonl")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("n must be >= 0")
    if not 0.0 <= args.dup_share < 1.0:
        parser.error("--dup-share must be in [0, 1)")
    items = generate_instructions(args.n, dup_share=args.dup_share, seed=args.seed)
    lines = [json.dumps({"instruction": s}, ensure_ascii=False) for s in items] if args.format == "jsonl" else items
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
