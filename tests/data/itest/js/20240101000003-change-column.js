'use strict';
module.exports = {
  up: async (queryInterface, Sequelize) => {
    await queryInterface.changeColumn('Users', 'existingColumn', {
      type: Sequelize.STRING(100), allowNull: false, defaultValue: 'default value'
    });
  },
  down: async (queryInterface, Sequelize) => {
    await queryInterface.changeColumn('Users', 'existingColumn', {
      type: Sequelize.STRING(50), allowNull: true, defaultValue: null
    });
  }
};
